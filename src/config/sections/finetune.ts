import { z } from 'zod';

// `finetune:` section — the LoRA training-set builder (`kb finetune prepare`) and the compute
// planner (`kb finetune plan`). See config/default.yaml for every key.

/** A question phrasing: a plain string is used for training; `heldout: true` is kept for the test split. */
const phrasing = z.union([z.string().min(1), z.object({ text: z.string().min(1), heldout: z.boolean().default(false) }).strict()]);
export type Phrasing = z.infer<typeof phrasing>;

const byLang = <T extends z.ZodTypeAny>(t: T) => z.object({ en: t, zh: t }).strict();
const questions = byLang(z.array(phrasing).min(1));
const answer = byLang(z.string().min(1));
const qa = z.object({ question: questions, answer }).strict();

export const finetuneSchema = z
  .object({
    base_model: z.string().min(1),
    dataset_dir: z.string().min(1),
    tokenizer: z.string(),
    seed: z.number().int(),
    languages: z.array(z.enum(['zh', 'en'])).min(1),
    phrasings_per_fact: z.number().int().min(1),
    test_fraction: z.number().min(0).max(1),
    val_fraction: z.number().min(0).lt(1),
    pii_opt_in: z.array(z.string().regex(/^[a-z0-9_]+\.[a-z0-9_]+$/, 'type.field')),
    min_samples_per_type: z.number().int().nonnegative(),
    max_language_share: z.number().gt(0).lte(1),
    near_duplicate_threshold: z.number().gt(0).lte(1),
    length: z.object({ min_answer_chars: z.number().int().min(1), max_tokens: z.number().int().min(32) }).strict(),
    refusal: z
      .object({
        unknown_entities_per_type: z.number().int().nonnegative(),
        missing_fields: z.boolean(),
        absent_attributes: z.array(z.object({ types: z.array(z.string()).min(1), label: byLang(z.string().min(1)) }).strict()),
      })
      .strict(),
    raft: z
      .object({
        enabled: z.boolean(),
        max_samples: z.number().int().nonnegative(),
        passages: z.number().int().min(2),
        oracle_drop_ratio: z.number().min(0).max(1),
        max_passage_chars: z.number().int().min(80),
      })
      .strict(),
    augment: z
      .object({
        enabled: z.boolean(),
        assistant: z.string(),
        paraphrases: z.number().int().min(0).max(5),
        back_translation: z.boolean(),
        max_ratio: z.number().min(0).max(5),
        concurrency: z.number().int().min(1),
      })
      .strict(),
    system_prompt: byLang(z.string()),
    templates: z
      .object({
        field: qa,
        fields: z.record(z.string().regex(/^[a-z0-9_]+\.[a-z0-9_]+$/, 'type.field'), qa).default({}),
        relations: z.record(z.string(), z.object({ forward: qa, inverse: qa }).strict()).default({}),
        composites: z
          .array(z.object({ name: z.string(), type: z.string(), fields: z.array(z.string()).min(2), question: questions, answer }).strict())
          .default([]),
        refusal: z.object({ unknown_entity: answer, missing_field: answer, absent_attribute: answer }).strict(),
        raft: z.object({ prompt: answer, answer, no_oracle_answer: answer }).strict(),
      })
      .strict(),
    planner: z
      .object({
        epochs: z.number().int().positive(),
        utilization: z.number().gt(0).lte(1),
        currency: z.string().min(1),
        gpu_prices_per_hour: z.record(z.string(), z.number().nonnegative()),
      })
      .strict(),
  })
  .strict();
export type FinetuneConfig = z.infer<typeof finetuneSchema>;
