import { z } from 'zod';

// `core:` section — the typed data model of the core structured records (companies, people,
// products, exhibitions, conferences, reports). See config/default.yaml for every key.

export const coreFieldTypes = ['string', 'text', 'integer', 'number', 'date', 'url', 'email', 'phone', 'list'] as const;
export type CoreFieldType = (typeof coreFieldTypes)[number];

const label = z.object({ en: z.string().min(1), zh: z.string().min(1) }).strict();

export const coreFieldSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower_snake_case'),
    type: z.enum(coreFieldTypes).default('string'),
    /** Stored as <name>_zh and <name>_en; questions use the value of their own language. */
    localized: z.boolean().default(false),
    required: z.boolean().default(false),
    /** Personal data: never written into training text unless listed in finetune.pii_opt_in. */
    pii: z.boolean().default(false),
    /** Whether single-fact questions are generated for this field. */
    ask: z.boolean().default(true),
    label: label.optional(),
  })
  .strict();
export type CoreField = z.infer<typeof coreFieldSchema>;

export const coreTypeSchema = z
  .object({
    label,
    /** Field holding the unique key. */
    key: z.string(),
    /** Field holding the name shown and asked about (may be localized). */
    display_name: z.string(),
    fields: z.array(coreFieldSchema).min(1),
  })
  .strict()
  .superRefine((t, ctx) => {
    const names = new Set<string>();
    t.fields.forEach((f, i) => {
      if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `duplicate field "${f.name}"` });
      names.add(f.name);
    });
    if (!names.has(t.key)) ctx.addIssue({ code: 'custom', path: ['key'], message: `key "${t.key}" is not a field` });
    if (!names.has(t.display_name)) ctx.addIssue({ code: 'custom', path: ['display_name'], message: `"${t.display_name}" is not a field` });
  });
export type CoreTypeConfig = z.infer<typeof coreTypeSchema>;

export const coreRelationSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower_snake_case'),
    from: z.string(),
    /** Field of `from` holding the target key (a list field for one-to-many). */
    field: z.string(),
    to: z.string(),
  })
  .strict();
export type CoreRelation = z.infer<typeof coreRelationSchema>;

export const coreSchema = z
  .object({
    /** Separator of list values in CSV cells. */
    list_separator: z.string().min(1),
    types: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), coreTypeSchema),
    relations: z.array(coreRelationSchema),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.relations.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['relations', i, 'name'], message: `duplicate relation "${r.name}"` });
      seen.add(r.name);
      const from = c.types[r.from];
      if (!from) ctx.addIssue({ code: 'custom', path: ['relations', i, 'from'], message: `unknown type "${r.from}"` });
      else if (!from.fields.some((f) => f.name === r.field))
        ctx.addIssue({ code: 'custom', path: ['relations', i, 'field'], message: `"${r.field}" is not a field of ${r.from}` });
      if (!c.types[r.to]) ctx.addIssue({ code: 'custom', path: ['relations', i, 'to'], message: `unknown type "${r.to}"` });
    });
  });
export type CoreConfig = z.infer<typeof coreSchema>;
