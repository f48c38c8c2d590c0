// The eval report written by `kb finetune eval` and stored on the adapter (adapters.eval_report).

/** base / adapter = the run's candidate adapter / active = the adapter serving now (incumbent). */
export type SettingName = 'base' | 'base+rag' | 'adapter' | 'adapter+rag' | 'active' | 'active+rag';

export interface SettingResult {
  setting: SettingName;
  model: string;
  retrieval: boolean;
  status: 'ok' | 'skipped';
  skipped_reason?: string;
  /** Samples asked / answered without a request error. */
  n: number;
  scored: number;
  errors: number;
  /** Means over answerable samples (null when there were none). */
  em: number | null;
  f1: number | null;
  rouge_l: number | null;
  /** Share of no-record samples answered with a refusal. */
  refusal_accuracy: number | null;
  /** Share of answerable samples wrongly refused. */
  false_refusal_rate: number | null;
  /**
   * Mean per-sample credit over all scored samples: token F1 on answerable samples, 1/0 for
   * refusing on no-record samples. The promotion gate compares this.
   */
  score: number | null;
  /** EM / F1 on answerable samples asked with a held-out phrasing (what augmentation should raise). */
  heldout_em?: number | null;
  heldout_f1?: number | null;
}

export interface EvalReport {
  version: 1;
  run: string;
  adapter: string;
  base_model: string;
  /** The incumbent adapter evaluated alongside, when one was active and served. */
  incumbent: string | null;
  test_file: string;
  samples: number;
  answerable: number;
  refusal_samples: number;
  created_at: string;
  settings: SettingResult[];
  /** The candidate setting the gate looks at: adapter+rag when retrieval ran, else adapter. */
  primary: 'adapter+rag' | 'adapter';
  notes: string[];
}
