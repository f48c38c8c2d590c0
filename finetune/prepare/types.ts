import type { CoreValue, Lang } from '../../src/core/schema.ts';

export type { Lang } from '../../src/core/schema.ts';

// The record of one training sample as `kb finetune prepare` writes it to samples/<split>.jsonl
// (the OpenAI and ShareGPT exports carry only the conversation).

export type SampleKind = 'single_fact' | 'relation' | 'composite' | 'refusal' | 'raft';
export type Split = 'train' | 'val' | 'test';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * One claim the answer makes about the records, checked programmatically by grounding.ts:
 * - value:    record (type, key) has `value` in column `field`, and the answer shows the value;
 * - relation: record (type, key) references `targets` through relation field `field`, every
 *             target exists, and the answer names the targets (mention 'targets') or the source
 *             record itself (mention 'source', for inverse questions listing sources);
 * - absent:   record (type, key) has no value for `field`; with key null, no record of `type`
 *             is called `name`; with `attribute`, the type has no such field at all.
 */
export type GroundFact =
  | { kind: 'value'; type: string; key: string; field: string; value: CoreValue }
  | { kind: 'relation'; type: string; key: string; field: string; relation: string; targets: string[]; mention: 'targets' | 'source' }
  | { kind: 'absent'; type: string; key: string | null; field: string; name?: string; attribute?: boolean };

export interface Sample {
  /** Stable id: a hash of the fact, language and template. */
  id: string;
  kind: SampleKind;
  /** forward | inverse (relation), unknown_entity | missing_field | absent_attribute (refusal), oracle | no_oracle (raft). */
  subkind: string | null;
  lang: Lang;
  /** Groups every sample that asks the same fact (splits keep a fact's train samples together). */
  fact_id: string;
  entity: { type: string; key: string | null; name: string };
  /** Template id, e.g. "fields.company.city.en.1"; held-out ids only ever appear in test. */
  template: string;
  heldout: boolean;
  facts: GroundFact[];
  /** Rendered values the answer must contain (checked by the grounding step). */
  answer_values: string[];
  messages: ChatMessage[];
  /** RAFT: the cited passage (1-based position in the prompt) and its chunk. */
  citation?: { passage: number; chunk_id: number; document: string; quote: string };
  /** RAFT: chunks shown as distractors. */
  distractors?: number[];
  split?: Split;
  tokens?: number;
  /** A question variant written by the chat upstream (finetune/prepare/augment.ts); train only. */
  augmented?: 'paraphrase' | 'back_translation';
}

export const userText = (s: Sample): string => s.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
export const assistantText = (s: Sample): string => s.messages.filter((m) => m.role === 'assistant').map((m) => m.content).join('\n');
