import { describe, expect, it } from 'vitest';
import { retrievalConfig } from '../../test/retrieval/kit.ts';
import { describeFusion, describeServedRetriever } from './open.ts';

describe('describeServedRetriever', () => {
  it('names the fusion that runs with its own parameters only', () => {
    const rrf = retrievalConfig({ fusion: 'rrf', weights: { dense: 0.3, bm25: 1 } }).retrieval;
    expect(describeFusion(rrf)).toBe('fusion rrf (rrf_k 60, weights dense 0.3 / bm25 1)');
    const convex = retrievalConfig({ fusion: 'convex', convex: { alpha: 0.2 } }).retrieval;
    expect(describeFusion(convex)).toBe('fusion convex (alpha 0.2 dense / 0.8 bm25)');
    expect(describeServedRetriever({ retrieval: convex }, null)).toContain('fusion convex (alpha 0.2');
    expect(describeServedRetriever({ retrieval: convex }, null)).not.toContain('rrf_k');
  });
});
