// The run report printed by `kb ingest` (`--json` prints it as one object) and stored with the run.

export interface RunReport {
  run_id: number;
  status: 'succeeded' | 'failed' | 'aborted';
  docs: {
    seen: number;
    new: number;
    changed: number;
    unchanged: number;
    deleted: number;
    quarantined: number;
    duplicates: number;
  };
  chunks: { added: number; removed: number };
  /** Seconds per stage (read, clean, dedupe, chunk, store, delete, embed, index) and total. */
  seconds: Record<string, number>;
  embedding: {
    model: string | null;
    /** Why the dense leg was not updated, when it was not. */
    unavailable: string | null;
    cache_hits: number;
    embedded: number;
    pending: number;
  };
  index: { version: number | null; vectors: number; added: number; removed: number; rebuilt: boolean } | null;
  sources: Record<string, { seen: number; quarantined: number; deleted: number; error?: string }>;
  warnings: string[];
  error?: string;
  /** Set when a store write failed: the records of the transaction that rolled back, and why (disk_full, permission, damaged, …). */
  rolled_back?: { records: number; fault: string };
  /** The snapshot published for API replicas after the run (snapshot.target set), or why it failed. */
  snapshot?: { id: string; bytes: number; seconds: number; removed: string[] } | { error: string };
}

export function emptyReport(runId: number): RunReport {
  return {
    run_id: runId,
    status: 'succeeded',
    docs: { seen: 0, new: 0, changed: 0, unchanged: 0, deleted: 0, quarantined: 0, duplicates: 0 },
    chunks: { added: 0, removed: 0 },
    seconds: {},
    embedding: { model: null, unavailable: null, cache_hits: 0, embedded: 0, pending: 0 },
    index: null,
    sources: {},
    warnings: [],
  };
}

const n = (x: number) => x.toLocaleString('en-US');

/** Human-readable report for a terminal. */
export function formatReport(r: RunReport): string {
  const d = r.docs;
  const lines = [
    `run ${r.run_id}: ${r.status}${r.error ? ` — ${r.error}` : ''}`,
    `  documents  seen ${n(d.seen)} · new ${n(d.new)} · changed ${n(d.changed)} · unchanged ${n(d.unchanged)} · deleted ${n(d.deleted)}`,
    `             quarantined ${n(d.quarantined)} (of which duplicates ${n(d.duplicates)}) — see \`kb quarantine list --run ${r.run_id}\``,
    `  chunks     added ${n(r.chunks.added)} · removed ${n(r.chunks.removed)}`,
  ];
  if (r.embedding.unavailable) {
    lines.push(`  embeddings UNAVAILABLE: ${r.embedding.unavailable}`);
    lines.push(`             BM25 is up to date; ${n(r.embedding.pending)} chunks are pending for the dense index (next run with a model embeds them)`);
  } else {
    lines.push(`  embeddings ${r.embedding.model}: ${n(r.embedding.embedded)} embedded, ${n(r.embedding.cache_hits)} from cache, ${n(r.embedding.pending)} pending`);
  }
  if (r.index) lines.push(`  index      v${r.index.version} · ${n(r.index.vectors)} vectors (+${n(r.index.added)} −${n(r.index.removed)})${r.index.rebuilt ? ' · rebuilt' : ''}`);
  const stages = Object.entries(r.seconds).map(([k, v]) => `${k} ${v.toFixed(2)}s`).join(' · ');
  lines.push(`  time       ${stages}`);
  for (const w of r.warnings) lines.push(`  warning    ${w}`);
  if (r.rolled_back) lines.push(`  ROLLED BACK ${n(r.rolled_back.records)} record(s) of the failed transaction (${r.rolled_back.fault}); counts above are committed work only`);
  return lines.join('\n');
}
