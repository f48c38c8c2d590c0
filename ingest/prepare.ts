import { createHash } from 'node:crypto';
import type { Config } from '../src/config/index.ts';
import { cleanDocument } from '../src/text/clean.ts';
import { hashText } from '../src/text/normalize.ts';
import { chunkDocument } from '../src/text/chunk.ts';
import { locatePageStarts, pageAt } from '../src/text/pages.ts';
import { indexTerms } from '../src/text/analyzer.ts';
import type { TokenCounter } from '../src/text/tokens-types.ts';
import type { SourceRecord } from './sources/types.ts';
import { isGroupName } from '../src/auth/groups.ts';
import type { ChunkInput, DocumentInput } from './store-writer.ts';

// Turns a mapped source record into what the store holds: cleaned text, hashes, and (lazily,
// only for new or changed documents) its chunks with BM25 terms.

export interface PreparedDocument {
  input: Omit<DocumentInput, 'minhash' | 'lshBuckets'>;
  truncated: boolean;
  chunk(counter: TokenCounter): ChunkInput[];
}

export type PrepareResult = { ok: true; doc: PreparedDocument } | { ok: false; reason: string; detail: string };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function prepareDocument(record: SourceRecord, source: string, config: Config): PrepareResult {
  const cleaned = cleanDocument({ title: record.title, body: record.body }, config.cleaning);
  if (!cleaned.ok) return { ok: false, reason: cleaned.reason, detail: cleaned.detail };
  const { title, body } = cleaned;
  const tags = [...new Set(record.tags.map((t) => t.trim()).filter(Boolean))].sort();
  // Readers validate ACLs (sources/acl.ts); this is the store's own line: a blank or invalid group
  // is refused here too rather than dropped, since dropping the last one would make the document public.
  const badGroup = record.aclGroups.find((g) => typeof g !== 'string' || !isGroupName(g.trim()));
  if (badGroup !== undefined) return { ok: false, reason: 'invalid_acl', detail: `record "${record.externalId}": invalid ACL group ${JSON.stringify(badGroup)}` };
  const aclGroups = [...new Set(record.aclGroups.map((g) => g.trim()))].sort();
  // Page starts in the cleaned body, for formats with pages (PDF pages, PPTX slides).
  const pageStarts = record.pages?.length ? locatePageStarts(record.pages, body) : null;
  // Everything that changes what retrieval returns or who may see it is part of the content hash.
  const contentHash = sha256(
    JSON.stringify([record.kind, title, body, record.url, record.author, record.publishedAt, tags, aclGroups, ...(pageStarts ? [pageStarts] : [])]),
  );
  const input = {
    source,
    externalId: record.externalId,
    kind: record.kind,
    title,
    body,
    url: record.url,
    author: record.author,
    publishedAt: record.publishedAt,
    tags,
    aclGroups,
    contentHash,
    textHash: hashText(body),
  };
  return {
    ok: true,
    doc: {
      input,
      truncated: cleaned.truncated,
      chunk(counter) {
        return chunkDocument({ title, body }, config.chunking, counter).map((c) => ({
          ordinal: c.ordinal,
          text: c.text,
          embedText: c.embedText,
          embedHash: sha256(c.embedText),
          start: c.start,
          end: c.end,
          tokens: c.tokens,
          page: pageStarts ? pageAt(pageStarts, c.start) : null,
          terms: indexTerms(title, c.text),
        }));
      },
    },
  };
}
