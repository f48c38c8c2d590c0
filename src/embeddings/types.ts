// The embedding interface (v1). Providers implement it; callers never see a provider's quirks.

export interface Embedder {
  /** Stable id used as the embedding-cache key and recorded on index versions, e.g. "local:Xenova/multilingual-e5-small@q8#1a2b3c" (the tag covers passage prefix, pooling, normalisation, truncation). */
  readonly id: string;
  /** Vector dimension; valid after load(). */
  readonly dimension: number;
  /**
   * Loads the model or checks the endpoint. Fails fast with an EmbedderUnavailableError whose
   * message tells the operator what is missing and how to fix it.
   */
  load(): Promise<void>;
  /** Embeds passages (the passage prefix is applied by the provider). Returns one vector per text. */
  embedPassages(texts: string[]): Promise<Float32Array[]>;
  /** Embeds a search query (the query prefix is applied by the provider). */
  embedQuery(text: string): Promise<Float32Array>;
  /** Counts model tokens exactly, when the provider has the model's tokenizer loaded. */
  countTokens?(text: string): number;
  /** Releases native resources. */
  dispose?(): Promise<void>;
}

export class EmbedderUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbedderUnavailableError';
  }
}
