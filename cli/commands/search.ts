import type { Command } from 'commander';
import { documentKinds, type DocumentKind } from '../../src/config/index.ts';
import { integerIn } from '../options.ts';
import { openContext } from '../context.ts';
import { openRetriever } from '../../src/retrieval/open.ts';
import type { SearchFilters } from '../../src/retrieval/types.ts';
import { hitJson, resultMetaJson } from '../../src/retrieval/json.ts';

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

export function register(program: Command): void {
  program
    .command('search')
    .description('hybrid search over the knowledge base, with each hit\'s per-leg score breakdown')
    .argument('<query>', 'the question or keywords')
    .option('-k, --top-k <n>', 'hits to return', integerIn(1, 1000), 8)
    .option('--mode <mode>', 'hybrid | dense | bm25', 'hybrid')
    .option('--kind <kinds>', 'only these kinds (news,comment,post)', list)
    .option('--from <date>', 'published on or after (ISO date)')
    .option('--to <date>', 'published on or before (ISO date)')
    .option('--tags <tags>', 'any of these tags', list)
    .option('--source <names>', 'only these sources', list)
    .option('--groups <groups>', 'search as a caller with these ACL groups (default: unrestricted operator view)', list)
    .option('--json', 'print {query, hits, timings, degraded, ranking} as JSON (the /v1/retrieve hit shape, snake_case)')
    .action(async (query: string, opts: { topK: number; mode: string; kind?: string[]; from?: string; to?: string; tags?: string[]; source?: string[]; groups?: string[]; json?: boolean }) => {
      if (!['hybrid', 'dense', 'bm25'].includes(opts.mode)) throw new Error(`--mode must be hybrid, dense or bm25 (got ${opts.mode})`);
      const badKind = opts.kind?.find((k) => !(documentKinds as readonly string[]).includes(k));
      if (badKind) throw new Error(`--kind: unknown kind "${badKind}" (news, comment, post)`);
      const ctx = openContext();
      const opened = await openRetriever(ctx.config, ctx.db, ctx.log, { watch: false });
      try {
        const filters: SearchFilters = { kinds: opts.kind as DocumentKind[] | undefined, from: opts.from, to: opts.to, tags: opts.tags, sources: opts.source };
        const result = await opened.retriever.retrieve({ query, topK: opts.topK, filters, groups: opts.groups ?? null, mode: opts.mode as 'hybrid' });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ query, hits: result.hits.map(hitJson), ...resultMetaJson(result) })}\n`);
          return;
        }
        for (const w of result.degraded) process.stdout.write(`(degraded) ${w}\n`);
        if (result.ranking) process.stdout.write(`(ranking) recency: ${result.ranking.recency} · rerank: ${result.ranking.rerank}\n`);
        result.hits.forEach((h, i) => {
          const s = h.score;
          const leg = (l: { rank: number; score: number } | null) => (l ? `#${l.rank} ${l.score.toFixed(3)}` : '—');
          // Why this hit is at this position when the fused scores alone would order it elsewhere.
          const why = [
            s.rrfRank !== undefined ? `${s.fusion?.method ?? 'rrf'} #${s.rrfRank}` : '',
            s.exact ? `exact ${s.exact}` : '',
            typeof s.rerank === 'number' ? `rerank ${s.rerank.toFixed(3)}` : '',
            ...(s.moves ?? []).map((m) => `${m.stage} ${m.from}→${m.to}`),
          ].filter(Boolean);
          process.stdout.write(
            `${i + 1}. ${h.title || '(untitled)'}  [${h.kind} · ${h.source}/${h.externalId}${h.publishedAt ? ` · ${h.publishedAt.slice(0, 10)}` : ''}]\n` +
              `   fused ${s.fused.toFixed(4)} = ${s.fusion?.method ?? 'rrf'} ${s.rrf.toFixed(4)}${s.fusion ? ` (dense ${s.fusion.dense.toFixed(4)} + bm25 ${s.fusion.bm25.toFixed(4)})` : ''} × recency ${s.recency.toFixed(2)} · dense ${leg(s.dense)} · bm25 ${leg(s.bm25)}\n` +
              (why.length ? `   order: ${why.join(' · ')}\n` : '') +
              `   ${h.text.replace(/\s+/g, ' ').slice(0, 160)}\n`,
          );
        });
        if (result.hits.length === 0) process.stdout.write('no hits\n');
        process.stdout.write(`(${Object.entries(result.timings).map(([k, v]) => `${k} ${v.toFixed(1)}ms`).join(' · ')})\n`);
      } finally {
        await opened.close();
        ctx.close();
      }
    });
}
