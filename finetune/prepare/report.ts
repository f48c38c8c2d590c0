import { columnsOf, relationFields, type CoreConfig } from '../../src/core/schema.ts';
import type { CoreEntities } from '../../src/core/store.ts';
import type { RaftStats } from './raft.ts';
import type { AugmentStats } from './augment.ts';
import type { Sample, Split } from './types.ts';

// The quality report written next to the data (report.json + report.md): what is in the set,
// how long the samples are, what was removed and why, what is covered, and what looks wrong.

export interface LengthStats {
  count: number;
  total: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

export interface QualityReport {
  created_at: string;
  seed: number;
  out_dir: string;
  records: Record<string, number>;
  samples: { train: number; val: number; test: number; total: number };
  by_kind: Record<string, number>;
  by_type: Record<string, number>;
  by_lang: Record<string, number>;
  by_split: Record<Split, Record<string, number>>;
  tokens: { counter: string; per_message_overhead: number } & Record<Split | 'all', LengthStats>;
  duplicates: { exact: number; near: number; rate: number };
  filtered: Record<string, number>;
  coverage: {
    entities: Record<string, { covered: number; total: number; share: number }>;
    fields: Record<string, { asked: string[]; never_asked: string[]; not_asked_by_config: string[]; share: number }>;
    entity_share: number;
    field_share: number;
  };
  raft: RaftStats;
  /** null when augmentation was off (finetune.augment.enabled). */
  augmentation: AugmentStats | null;
  warnings: string[];
}

const count = <T>(items: T[], key: (t: T) => string) =>
  items.reduce<Record<string, number>>((acc, it) => ((acc[key(it)] = (acc[key(it)] ?? 0) + 1), acc), {});
const share = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 1000) / 1000);

export function lengthStats(values: number[]): LengthStats {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => (v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { count: v.length, total, mean: v.length ? Math.round(total / v.length) : 0, p50: at(0.5), p95: at(0.95), max: v.length ? v[v.length - 1] : 0 };
}

/** Which schema fields the samples ask about; fields excluded by config (ask: false, PII) are listed apart. */
function fieldCoverage(core: CoreConfig, samples: Sample[], piiOptIn: readonly string[]) {
  const asked = new Map<string, Set<string>>();
  for (const s of samples)
    for (const f of s.facts) {
      if (f.kind === 'absent' && f.attribute) continue;
      const t = core.types[f.type];
      const field = t?.fields.find((x) => x.name === f.field || columnsOf(x).includes(f.field));
      if (field) asked.set(f.type, (asked.get(f.type) ?? new Set()).add(field.name));
    }
  const out: QualityReport['coverage']['fields'] = {};
  let eligibleAll = 0;
  let askedAll = 0;
  for (const [type, t] of Object.entries(core.types)) {
    const rel = relationFields(core, type);
    const byConfig = t.fields
      .filter((f) => f.name !== t.key && f.name !== t.display_name && !rel.has(f.name) && (!f.ask || (f.pii && !piiOptIn.includes(`${type}.${f.name}`))))
      .map((f) => f.name);
    const eligible = t.fields.filter((f) => f.name !== t.key && f.name !== t.display_name && !byConfig.includes(f.name)).map((f) => f.name);
    const got = asked.get(type) ?? new Set<string>();
    const a = eligible.filter((f) => got.has(f));
    out[type] = { asked: a, never_asked: eligible.filter((f) => !got.has(f)), not_asked_by_config: byConfig, share: share(a.length, eligible.length) };
    eligibleAll += eligible.length;
    askedAll += a.length;
  }
  return { fields: out, field_share: share(askedAll, eligibleAll) };
}

export interface ReportInput {
  core: CoreConfig;
  entities: CoreEntities;
  splits: Record<Split, Sample[]>;
  seed: number;
  outDir: string;
  counter: string;
  perMessageOverhead: number;
  duplicates: { exact: number; near: number; before: number };
  filtered: Record<string, number>;
  raft: RaftStats;
  augmentation?: AugmentStats | null;
  warnings: string[];
  minSamplesPerType: number;
  maxLanguageShare: number;
  piiOptIn: readonly string[];
}

export function buildReport(r: ReportInput): QualityReport {
  const all = [...r.splits.train, ...r.splits.val, ...r.splits.test];
  const warnings = [...r.warnings];
  const records = Object.fromEntries([...r.entities].map(([t, l]) => [t, l.length]));
  const byType = count(all, (s) => s.entity.type);
  for (const [type, n] of Object.entries(records))
    if (n > 0 && (byType[type] ?? 0) < r.minSamplesPerType) warnings.push(`type ${type} has ${byType[type] ?? 0} samples (< min_samples_per_type ${r.minSamplesPerType})`);
  const byLang = count(all, (s) => s.lang);
  for (const [lang, n] of Object.entries(byLang))
    if (share(n, all.length) > r.maxLanguageShare) warnings.push(`language mix is skewed: ${lang} has ${Math.round(share(n, all.length) * 100)}% of samples`);

  const entities: QualityReport['coverage']['entities'] = {};
  let covered = 0;
  let total = 0;
  for (const [type, list] of r.entities) {
    const keys = new Set(all.filter((s) => s.entity.type === type && s.entity.key).map((s) => s.entity.key));
    entities[type] = { covered: keys.size, total: list.length, share: share(keys.size, list.length) };
    covered += keys.size;
    total += list.length;
  }
  const fc = fieldCoverage(r.core, all, r.piiOptIn);
  for (const [type, c] of Object.entries(fc.fields))
    if ((records[type] ?? 0) > 0) for (const f of c.never_asked) warnings.push(`field ${type}.${f} is never asked about`);

  const tok = (list: Sample[]) => lengthStats(list.map((s) => s.tokens ?? 0));
  return {
    created_at: new Date().toISOString(),
    seed: r.seed,
    out_dir: r.outDir,
    records,
    samples: { train: r.splits.train.length, val: r.splits.val.length, test: r.splits.test.length, total: all.length },
    by_kind: count(all, (s) => s.kind),
    by_type: byType,
    by_lang: byLang,
    by_split: { train: count(r.splits.train, (s) => s.kind), val: count(r.splits.val, (s) => s.kind), test: count(r.splits.test, (s) => s.kind) },
    tokens: { counter: r.counter, per_message_overhead: r.perMessageOverhead, train: tok(r.splits.train), val: tok(r.splits.val), test: tok(r.splits.test), all: tok(all) },
    duplicates: { exact: r.duplicates.exact, near: r.duplicates.near, rate: share(r.duplicates.exact + r.duplicates.near, r.duplicates.before) },
    filtered: r.filtered,
    coverage: { entities, fields: fc.fields, entity_share: share(covered, total), field_share: fc.field_share },
    raft: r.raft,
    augmentation: r.augmentation ?? null,
    warnings,
  };
}

export function reportMarkdown(q: QualityReport): string {
  const table = (head: string[], rows: (string | number)[][]) =>
    [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const kinds = Object.keys(q.by_kind).sort();
  return [
    `# Fine-tune dataset report`,
    ``,
    `Built ${q.created_at} with seed ${q.seed} into \`${q.out_dir}\`.`,
    ``,
    `## Samples`,
    table(['split', 'samples', ...kinds], (['train', 'val', 'test'] as const).map((s) => [s, q.samples[s], ...kinds.map((k) => q.by_split[s][k] ?? 0)])),
    ``,
    table(['by type', 'samples', 'records', 'entities covered'], Object.keys(q.records).map((t) => [t, q.by_type[t] ?? 0, q.records[t], `${Math.round((q.coverage.entities[t]?.share ?? 0) * 100)}%`])),
    ``,
    table(['language', 'samples'], Object.entries(q.by_lang).map(([l, n]) => [l, n])),
    ``,
    `## Token lengths (${q.tokens.counter}; +${q.tokens.per_message_overhead} per message for the chat template)`,
    table(['split', 'count', 'total', 'mean', 'p50', 'p95', 'max'], (['train', 'val', 'test', 'all'] as const).map((s) => [s, q.tokens[s].count, q.tokens[s].total, q.tokens[s].mean, q.tokens[s].p50, q.tokens[s].p95, q.tokens[s].max])),
    ``,
    `## Removed`,
    `Duplicates: ${q.duplicates.exact} exact, ${q.duplicates.near} near (rate ${Math.round(q.duplicates.rate * 1000) / 10}%).`,
    ``,
    table(['filter', 'removed'], Object.entries(q.filtered).map(([k, v]) => [k, v])),
    ``,
    `## Coverage`,
    `Entities: ${Math.round(q.coverage.entity_share * 100)}% · fields: ${Math.round(q.coverage.field_share * 100)}%.`,
    ``,
    table(['type', 'fields asked', 'never asked', 'excluded by config (ask: false / PII)'], Object.entries(q.coverage.fields).map(([t, c]) => [t, c.asked.join(', ') || '—', c.never_asked.join(', ') || '—', c.not_asked_by_config.join(', ') || '—'])),
    ``,
    `## RAFT`,
    `Passages via ${q.raft.path}; ${q.raft.samples} samples from ${q.raft.candidates} candidate facts (${q.raft.no_oracle_passage} without a passage stating the fact; ${q.raft.oracle_dropped} with the oracle dropped).`,
    ``,
    `## Augmentation`,
    q.augmentation
      ? `Train questions rewritten by the chat upstream: ${q.augmentation.accepted.paraphrase} paraphrases and ${q.augmentation.accepted.back_translation} zh↔en back-translations accepted (cap ${q.augmentation.cap}) from ${q.augmentation.originals} originals; ${q.augmentation.upstream_calls} upstream calls, ${q.augmentation.cache_hits} from the cache. Rejected: ${Object.entries(q.augmentation.rejected).map(([k, v]) => `${v} ${k.replace('_', ' ')}`).join(', ')}.${q.augmentation.first_error ? ` First error: ${q.augmentation.first_error}` : ''}`
      : 'Off (finetune.augment.enabled: false).',
    ``,
    `## Warnings`,
    q.warnings.length ? q.warnings.map((w) => `- ${w}`).join('\n') : 'None.',
    ``,
  ].join('\n');
}
