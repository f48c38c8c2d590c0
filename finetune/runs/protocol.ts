// The trainer's stdout protocol (finetune/train/train_lora.py, PROTOCOL_VERSION 1): one JSON
// object per line with an "event" key. Other lines are plain log text.

export interface StartEvent {
  event: 'start';
  total_steps: number;
  resumed_from_step: number;
  train_samples?: number;
  val_samples?: number;
  [key: string]: unknown;
}
export interface LogEvent {
  event: 'log';
  step: number;
  total_steps: number;
  epoch: number;
  loss: number;
  eval_loss: number | null;
  lr: number;
  tokens_per_s: number | null;
  eta_s: number | null;
}
export interface EvalEvent {
  event: 'eval';
  step: number;
  eval_loss: number;
  best_eval_loss: number | null;
  patience_left: number | null;
}
export interface CheckpointEvent {
  event: 'checkpoint';
  step: number;
  path: string;
}
export interface InterruptedEvent {
  event: 'interrupted';
  /** null when stopped before the first step (nothing checkpointed). */
  step: number | null;
  checkpoint: string | null;
}
export interface SummaryEvent {
  event: 'summary';
  status: 'completed' | 'early_stopped';
  adapter_dir: string;
  merged_dir: string | null;
  dataset_hash: string;
  steps: number;
  [key: string]: unknown;
}
export interface ErrorEvent {
  event: 'error';
  kind: string;
  message: string;
}
export interface OtherEvent {
  event: 'validated' | 'merged';
  [key: string]: unknown;
}

export type TrainerEvent = StartEvent | LogEvent | EvalEvent | CheckpointEvent | InterruptedEvent | SummaryEvent | ErrorEvent | OtherEvent;

const KNOWN = new Set(['start', 'log', 'eval', 'checkpoint', 'interrupted', 'summary', 'error', 'validated', 'merged']);
const REQUIRED: Record<string, string[]> = {
  start: ['total_steps'],
  log: ['step', 'total_steps', 'loss'],
  eval: ['step', 'eval_loss'],
  checkpoint: ['step', 'path'],
  interrupted: ['step'],
  summary: ['status', 'adapter_dir'],
  error: ['message'],
};

/**
 * Parses one stdout line: a protocol event, or null for plain text (library warnings, prints).
 * A JSON line with a known event but missing fields is treated as text so a malformed line can
 * never corrupt the run record; it still lands in trainer.log.
 */
export function parseTrainerLine(line: string): TrainerEvent | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const ev = value as Record<string, unknown>;
  if (typeof ev.event !== 'string' || !KNOWN.has(ev.event)) return null;
  for (const key of REQUIRED[ev.event] ?? []) if (!(key in ev)) return null;
  return ev as unknown as TrainerEvent;
}
