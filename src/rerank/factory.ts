import { dataPath, type Config } from '../config/index.ts';
import { RERANK_OFF } from '../config/sections/rerank.ts';
import { HttpReranker } from './http.ts';
import { LocalReranker } from './local.ts';
import type { Reranker } from './types.ts';

/** The configured reranker (not yet loaded), or null when `rerank.provider` is none. */
export function createReranker(config: Pick<Config, 'rerank' | 'data_dir'> & Partial<Config>): Reranker | null {
  const settings = config.rerank ?? RERANK_OFF;
  switch (settings.provider) {
    case 'none':
      return null;
    case 'local':
      return new LocalReranker(settings.local, dataPath(config as Config, 'models'));
    case 'http':
      return new HttpReranker(settings.http);
  }
}

const LOAD_RETRY_MS = 30_000;

/**
 * Loads on first use and retries a failed load after 30 s (the model may be copied in, the
 * service may come up); until then score() fails at once with the load error, so the retriever
 * skips the stage with that reason instead of waiting for a dead service on every query.
 */
export function lazyReranker(inner: Reranker, now: () => number = Date.now): Reranker {
  let state: { promise: Promise<void>; failedAt: number | null } | null = null;
  const ensure = () => {
    if (!state || (state.failedAt !== null && now() - state.failedAt > LOAD_RETRY_MS)) {
      const s: { promise: Promise<void>; failedAt: number | null } = { promise: Promise.resolve(), failedAt: null };
      s.promise = inner.load().catch((err: unknown) => {
        s.failedAt = now();
        throw err;
      });
      state = s;
    }
    return state.promise;
  };
  return {
    id: inner.id,
    load: ensure,
    async score(query, passages, signal) {
      await ensure();
      return inner.score(query, passages, signal);
    },
    dispose: () => inner.dispose?.() ?? Promise.resolve(),
  };
}
