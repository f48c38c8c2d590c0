import type { SourceItem } from './types.ts';

/**
 * Passes items through, quarantining the second and later occurrences of an external id within
 * one read ('duplicate_id'): two records claiming one id would otherwise overwrite each other
 * silently. The first occurrence wins because it is the one an operator expects to see.
 */
export async function* rejectDuplicateIds(items: AsyncIterable<SourceItem>): AsyncGenerator<SourceItem> {
  const firstSeen = new Map<string, string>();
  for await (const item of items) {
    if (!item.ok) {
      yield item;
      continue;
    }
    const id = item.record.externalId;
    const first = firstSeen.get(id);
    if (first !== undefined) {
      yield { ok: false, locator: item.locator, raw: item.raw, reason: 'duplicate_id', detail: `external id "${id}" was already read at ${first}` };
      continue;
    }
    firstSeen.set(id, item.locator);
    yield item;
  }
}
