import fs from 'node:fs';
import path from 'node:path';
import type { CoreConfig } from '../../src/config/sections/core.ts';
import type { FinetuneConfig } from '../../src/config/sections/finetune.ts';
import { loadEntities, totalEntities } from '../../src/core/store.ts';
import type { Retriever } from '../../src/retrieval/types.ts';
import type { DB } from '../../src/store/index.ts';
import type { TokenCounter } from '../../src/text/tokens.ts';
import { buildContext } from './context.ts';
import { dedupe } from './dedupe.ts';
import { expandSpec } from './expand.ts';
import { SPLITS, writeExports } from './export.ts';
import { groundingErrors } from './grounding.ts';
import { createPassageSource } from './passages.ts';
import { containsPii, piiMatcher, piiValues } from './pii.ts';
import { raftSamples, type RaftStats } from './raft.ts';
import { buildReport, reportMarkdown, type QualityReport } from './report.ts';
import { compositeSpecs, recordSpecs } from './specs-records.ts';
import { relationSpecs } from './specs-relations.ts';
import { absentAttributeSpecs, unknownEntitySpecs } from './specs-refusals.ts';
import { splitSamples } from './split.ts';
import { loadTokenCounter, PER_MESSAGE_OVERHEAD, sampleTokens } from './tokens.ts';
import { assistantText, type Sample, type Split } from './types.ts';
import { augmentTrain, type AugmentOptions, type AugmentStats } from './augment.ts';

// `kb finetune prepare`: core records → grounded Q&A samples (single facts, relations and lists,
// composites, refusals, RAFT) → PII guard, grounding check, length filters, dedupe → splits with
// held-out phrasings in test → OpenAI / LLaMA-Factory exports + quality report.

export type { QualityReport } from './report.ts';
export type { Sample, Split, GroundFact, ChatMessage, SampleKind } from './types.ts';

export interface PrepareOptions {
  db: DB;
  core: CoreConfig;
  finetune: FinetuneConfig;
  outDir: string;
  seed?: number;
  /** The production retriever for RAFT passages; null = BM25 straight from the store. */
  retriever?: Retriever | null;
  /** Folder holding local tokenizers (<data_dir>/models). */
  modelsDir?: string;
  /** Overrides the tokenizer lookup (tests). */
  tokenCounter?: TokenCounter;
  /** Question augmentation through the chat upstream (finetune.augment); absent = off. */
  augment?: AugmentOptions | null;
}

export interface PrepareSummary {
  out_dir: string;
  samples: Record<Split, number>;
  by_kind: Record<string, number>;
  tokens: QualityReport['tokens'];
  warnings: string[];
  files: string[];
  report: QualityReport;
}

const MAX_LISTED_PROBLEMS = 5;

export async function prepareDataset(opts: PrepareOptions): Promise<PrepareSummary> {
  const { db, core, finetune: ft } = opts;
  const seed = opts.seed ?? ft.seed;
  const entities = loadEntities(db, core);
  if (totalEntities(entities) === 0) throw new Error('no core records in the store: run `kb core import FILE --type T` (or `kb demo generate`) first');
  const ctx = buildContext(core, ft, entities, seed);
  const quarantined = db.prepare('SELECT COUNT(*) FROM core_quarantine').pluck().get() as number;
  if (quarantined > 0) ctx.warnings.push(`${quarantined} core row(s) are quarantined and not in the training set (kb core status)`);

  // 1. Fact specs → samples.
  const recordFacts = recordSpecs(ctx);
  const specs = [...recordFacts, ...compositeSpecs(ctx), ...relationSpecs(ctx), ...unknownEntitySpecs(ctx), ...absentAttributeSpecs(ctx)];
  const missingHeldout = new Set<string>();
  let samples: Sample[] = specs.flatMap((s) => expandSpec(ctx, s, missingHeldout));
  for (const t of missingHeldout) ctx.warnings.push(`templates ${t} have no held-out phrasing: the test split does not probe them`);

  // 2. RAFT.
  const pii = piiValues(core, entities, ft.pii_opt_in);
  const source = createPassageSource(db, opts.retriever ?? null);
  let raft: RaftStats = { path: source.path, candidates: 0, samples: 0, no_oracle_passage: 0, oracle_dropped: 0 };
  if (ft.raft.enabled) {
    if (source.size() === 0) ctx.warnings.push('no public passages in the store (run `kb ingest`): RAFT samples skipped');
    else {
      const r = await raftSamples(ctx, recordFacts, source, pii);
      raft = r.stats;
      samples.push(...r.samples);
      ctx.warnings.push(
        source.path === 'retriever'
          ? 'RAFT distractors come from the hybrid retriever (production path)'
          : 'RAFT distractors come from the BM25 index directly (no retriever given): the dense leg is not represented',
      );
      if (r.samples.length === 0) ctx.warnings.push('no RAFT sample: no passage states a record fact next to the entity name');
    }
  }

  // 3. Guards and filters. Every drop is counted; the first few reasons are listed.
  const filtered: Record<string, number> = { ungrounded: 0, pii: 0, too_short: 0, too_long: 0 };
  let counter = opts.tokenCounter;
  if (!counter) {
    const loaded = await loadTokenCounter(opts.modelsDir ?? '', ft.tokenizer);
    if (loaded.note) ctx.warnings.push(loaded.note);
    counter = loaded.counter;
  }
  const tokenCounter = counter;
  const idx = { core, byKey: ctx.byKey, namesByType: ctx.namesByType };
  const matchPii = piiMatcher(pii);
  const problems: string[] = [];
  samples = samples.filter((s) => {
    const errs = groundingErrors(idx, s);
    if (errs.length) {
      filtered.ungrounded++;
      if (problems.length < MAX_LISTED_PROBLEMS) problems.push(`${s.fact_id} (${s.lang}): ${errs.join('; ')}`);
      return false;
    }
    if (containsPii(s, matchPii)) return (filtered.pii++, false);
    if (assistantText(s).length < ft.length.min_answer_chars) return (filtered.too_short++, false);
    s.tokens = sampleTokens(s, tokenCounter);
    if (s.tokens > ft.length.max_tokens) return (filtered.too_long++, false);
    return true;
  });
  if (filtered.ungrounded) ctx.warnings.push(`${filtered.ungrounded} sample(s) failed the grounding check and were dropped, e.g. ${problems.join(' | ')}`);
  if (filtered.pii) ctx.warnings.push(`${filtered.pii} sample(s) contained a PII value and were dropped`);
  if (filtered.too_long) ctx.warnings.push(`${filtered.too_long} sample(s) exceeded length.max_tokens (${ft.length.max_tokens}) and were dropped`);

  // 4. Dedupe, split, write.
  const before = samples.length;
  const d = dedupe(samples, ft.near_duplicate_threshold);
  const split = splitSamples(d.kept, seed, ft.val_fraction);
  filtered.test_leak = split.leaked;
  filtered.test_untaught = split.untaught;
  const splits = { train: split.train, val: split.val, test: split.test };
  // 5. Augmentation: question variants of train samples only; test and val are never touched.
  let augmentation: AugmentStats | null = null;
  if (opts.augment) {
    const a = await augmentTrain(splits.train, splits.test, opts.augment);
    for (const x of a.samples) x.tokens = sampleTokens(x, tokenCounter);
    splits.train = [...splits.train, ...a.samples];
    augmentation = a.stats;
    if (a.stats.rejected.failed) ctx.warnings.push(`augmentation: ${a.stats.rejected.failed} upstream request(s) failed (first: ${a.stats.first_error})`);
  }
  const outDir = path.resolve(opts.outDir);
  fs.mkdirSync(outDir, { recursive: true });
  const files = writeExports(outDir, splits);
  const report = buildReport({
    core,
    entities,
    splits,
    seed,
    outDir,
    counter: tokenCounter.kind,
    perMessageOverhead: PER_MESSAGE_OVERHEAD,
    duplicates: { exact: d.exact, near: d.near, before },
    filtered,
    raft,
    augmentation,
    warnings: ctx.warnings,
    minSamplesPerType: ft.min_samples_per_type,
    maxLanguageShare: ft.max_language_share,
    piiOptIn: ft.pii_opt_in,
  });
  fs.writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'report.md'), reportMarkdown(report));
  files.push('report.json', 'report.md');
  return {
    out_dir: outDir,
    samples: Object.fromEntries(SPLITS.map((s) => [s, splits[s].length])) as Record<Split, number>,
    by_kind: report.by_kind,
    tokens: report.tokens,
    warnings: report.warnings,
    files,
    report,
  };
}
