import type { RerankConfig } from '../config/sections/rerank.ts';
import { RerankerUnavailableError, type Reranker } from './types.ts';

// A reranking service over HTTP. Two wire formats cover the common servers:
//   tei     Hugging Face text-embeddings-inference: POST /rerank {query, texts} → [{index, score}]
//   cohere  Cohere /v1/rerank, Jina /v1/rerank, vLLM /rerank and /v1/rerank:
//           POST {model, query, documents} → {results: [{index, relevance_score}]}
// The answer lists scores by passage index (TEI and Cohere sort them by score); they are put
// back into passage order here. Any gap or malformed entry is an error, never a silent 0.

export class HttpReranker implements Reranker {
  readonly id: string;

  constructor(
    private readonly settings: RerankConfig['http'],
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.id = `http:${settings.api}:${settings.url}${settings.model ? `#${settings.model}` : ''}`;
  }

  async load(): Promise<void> {
    if (!/^https?:\/\//.test(this.settings.url)) throw new RerankerUnavailableError(`rerank.http.url must be an http(s) URL, got "${this.settings.url}"`);
  }

  async score(query: string, passages: readonly string[], signal?: AbortSignal): Promise<number[]> {
    if (passages.length === 0) return [];
    const { api, url, model, api_key } = this.settings;
    const body = api === 'tei' ? { query, texts: passages, truncate: true } : { ...(model ? { model } : {}), query, documents: passages, top_n: passages.length };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (api_key) headers.authorization = `Bearer ${api_key}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
    } catch (err) {
      throw new RerankerUnavailableError(`reranker ${url} unreachable: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) throw new RerankerUnavailableError(`reranker ${url} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RerankerUnavailableError(`reranker ${url} answered non-JSON: ${text.slice(0, 200)}`);
    }
    const entries = api === 'tei' ? json : (json as { results?: unknown })?.results;
    if (!Array.isArray(entries)) throw new RerankerUnavailableError(`reranker ${url} answered an unexpected shape for api "${api}": ${text.slice(0, 200)}`);
    const scores = new Array<number>(passages.length).fill(NaN);
    for (const e of entries as Array<Record<string, unknown>>) {
      const index = e?.index;
      const score = api === 'tei' ? e?.score : e?.relevance_score;
      if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= passages.length || typeof score !== 'number' || !Number.isFinite(score)) {
        throw new RerankerUnavailableError(`reranker ${url} answered a malformed entry ${JSON.stringify(e).slice(0, 120)}`);
      }
      scores[index as number] = score;
    }
    const missing = scores.filter((s) => Number.isNaN(s)).length;
    if (missing > 0) throw new RerankerUnavailableError(`reranker ${url} scored ${passages.length - missing} of ${passages.length} passages`);
    return scores;
  }
}
