import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import type { DenseIndexStatus } from '../../vector/reader.ts';
import { resolveEmbeddingThreads, resolveWorkerConcurrency, resolveWorkerCount } from './size.ts';
import { mergeIndexStatus } from './status.ts';

const st = (version: number | null, extra: Partial<DenseIndexStatus> = {}): DenseIndexStatus => ({
  version,
  model: 'm',
  dim: 4,
  vectors: version ? version * 10 : 0,
  loadedAt: version ? `t${version}` : null,
  activeVersion: 2,
  loading: false,
  error: null,
  ...extra,
});

describe('mergeIndexStatus', () => {
  it('is loaded only when every worker serves a version, and names the oldest while a new one rolls out', () => {
    const rolling = mergeIndexStatus([
      { slot: 0, ready: true, status: st(2) },
      { slot: 1, ready: true, status: st(1, { loading: true }) },
    ]);
    expect(rolling).toMatchObject({ loaded: true, available: true, version: 1, versions: [1, 2], vectors: 10, activeVersion: 2, loading: true });
    expect(rolling.workers).toEqual([
      { slot: 0, ready: true, version: 2, loading: false, error: null },
      { slot: 1, ready: true, version: 1, loading: true, error: null },
    ]);

    const restarting = mergeIndexStatus([
      { slot: 0, ready: true, status: st(2) },
      { slot: 1, ready: false, status: st(2) },
    ]);
    expect(restarting).toMatchObject({ loaded: false, available: true, version: 2 });

    const none = mergeIndexStatus([{ slot: 0, ready: false, status: st(2) }]);
    // Nobody can answer; the last report still says a version is active (so /readyz is not ready).
    expect(none).toMatchObject({ loaded: false, available: false, version: null, activeVersion: 2 });

    const noIndex = mergeIndexStatus([{ slot: 0, ready: true, status: st(null, { activeVersion: null }) }]);
    expect(noIndex).toMatchObject({ loaded: false, available: true, version: null, activeVersion: null });

    const err = { version: 3, file: 'f', message: 'corrupt', at: 'now' };
    expect(mergeIndexStatus([{ slot: 0, ready: true, status: st(2, { error: err }) }]).error).toEqual(err);
  });
});

describe('pool sizing', () => {
  it('auto never starts more workers than their index copies fit in memory', () => {
    const GiB = 2 ** 30;
    // 16 cores, 3M chunks (≈ 4.8 GiB HNSW + 0.5 GiB BM25 per copy), 64 GiB: 6 workers, not 16.
    expect(resolveWorkerCount('auto', 16, { indexBytes: 5.3 * GiB, memoryBytes: 64 * GiB })).toBe(6);
    // 2 cores, 1M chunks, 24 GiB: both cores.
    expect(resolveWorkerCount('auto', 2, { indexBytes: 1.8 * GiB, memoryBytes: 24 * GiB })).toBe(2);
    // No index yet: one per core. Too little memory for even one copy: still one worker.
    expect(resolveWorkerCount('auto', 8, { indexBytes: 0, memoryBytes: 16 * GiB })).toBe(8);
    expect(resolveWorkerCount('auto', 8, { indexBytes: 8 * GiB, memoryBytes: 4 * GiB })).toBe(1);
    // An explicit number is taken as given.
    expect(resolveWorkerCount(8, 16, { indexBytes: 5.3 * GiB, memoryBytes: 16 * GiB })).toBe(8);
    expect(resolveWorkerCount(0, 16, { indexBytes: 0, memoryBytes: 16 * GiB })).toBe(0);
  });


  it('auto = one worker per core and cores shared among workers for ONNX threads', () => {
    expect(resolveWorkerCount('auto', 8)).toBe(8);
    expect(resolveWorkerCount(0, 8)).toBe(0);
    expect(resolveWorkerCount(3, 8)).toBe(3);
    expect(resolveEmbeddingThreads('auto', 8, 8)).toBe(1);
    expect(resolveEmbeddingThreads('auto', 2, 8)).toBe(4);
    expect(resolveEmbeddingThreads('auto', 16, 8)).toBe(1);
    expect(resolveEmbeddingThreads(3, 2, 8)).toBe(3);
    expect(resolveWorkerConcurrency('auto', 'local')).toBe(2);
    expect(resolveWorkerConcurrency('auto', 'openai')).toBe(8);
    expect(resolveWorkerConcurrency(3, 'openai')).toBe(3);
  });

  it('validates the server keys', () => {
    expect(loadConfig({ env: {} }).server).toMatchObject({ retrieval_workers: 'auto', retrieval_worker_concurrency: 'auto', embedding_threads: 'auto', retrieval_queue_depth: 256 });
    expect(loadConfig({ env: { KB_SERVER__RETRIEVAL_WORKERS: '0' } }).server.retrieval_workers).toBe(0);
    expect(() => loadConfig({ env: {}, overrides: { server: { retrieval_workers: -1 } } })).toThrow(/server\.retrieval_workers/);
    expect(() => loadConfig({ env: {}, overrides: { server: { retrieval_workers: 'many' } } })).toThrow(/server\.retrieval_workers/);
    expect(() => loadConfig({ env: {}, overrides: { server: { retrieval_worker_concurrency: 0 } } })).toThrow(/retrieval_worker_concurrency/);
  });
});
