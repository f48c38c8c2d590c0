/** Counts tokens of a text: the embedding model's tokenizer when loaded, else an estimate. */
export interface TokenCounter {
  count(text: string): number;
  /** 'tokenizer:<model>' or 'estimate' — recorded in reports so figures can be interpreted. */
  readonly kind: string;
}
