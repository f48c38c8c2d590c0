// The reranking interface (v1): a cross-encoder scores (query, passage) pairs jointly, which
// separates relevant from merely similar passages better than either retrieval leg. Providers
// implement it like the embedders do (local ONNX model, or an HTTP /rerank service).

export interface Reranker {
  /** Stable id, e.g. "local:Xenova/bge-reranker-base@q8" or "http:http://127.0.0.1:8081/rerank#bge". */
  readonly id: string;
  /** Loads the model or checks nothing (HTTP): fails with a RerankerUnavailableError saying what is missing. */
  load(): Promise<void>;
  /** One relevance score per passage (higher = more relevant), in the passages' order. */
  score(query: string, passages: readonly string[], signal?: AbortSignal): Promise<number[]>;
  dispose?(): Promise<void>;
}

export class RerankerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RerankerUnavailableError';
  }
}
