import type { DocumentKind } from '../../src/config/index.ts';

/** A source record mapped onto our document fields, before cleaning. */
export interface SourceRecord {
  externalId: string;
  kind: DocumentKind;
  title: string;
  /** Raw body: may contain HTML (cleaning turns it into text). */
  body: string;
  url: string | null;
  author: string | null;
  /** ISO 8601 UTC or null. */
  publishedAt: string | null;
  tags: string[];
  aclGroups: string[];
  /** Text per page (PDF) or slide (PPTX), when the source has pages: body is pages.join('\n\n'). */
  pages?: string[];
}

/** What a source reader yields: a mapped record, or a malformed one to quarantine. */
export type SourceItem =
  | { ok: true; record: SourceRecord; locator: string; raw: string }
  | {
      ok: false;
      locator: string;
      raw: string;
      reason: string;
      detail: string;
      /** The record's id when it was readable (lets the pipeline withdraw a stored version: see invalid_acl). */
      externalId?: string;
    };

export interface SourceReader {
  /** Streams the source. Throws (rather than yielding) only when the source as a whole is unreadable. */
  read(): AsyncIterable<SourceItem>;
}
