import { normalizeText } from './normalize.ts';

// Page numbers survive cleaning by location, not by markers: cleaning normalises text and removes
// boilerplate and repeated lines (running headers and footers are exactly that), which shifts
// every offset. Each page is found again in the cleaned body by its first line that survived.

/** Lines shorter than this are too generic ("3", "Contents") to locate a page by. */
const MIN_ANCHOR_CHARS = 6;

/**
 * Start offset in `body` (the cleaned text) of each page of `pages` (the raw page texts, in
 * order). A page none of whose lines can be found (all boilerplate, or cut by truncation) starts
 * where the previous one did, so offsets never decrease.
 */
export function locatePageStarts(pages: readonly string[], body: string): number[] {
  const starts: number[] = [];
  let cursor = 0;
  pages.forEach((page, i) => {
    if (i === 0) {
      starts.push(0);
      return;
    }
    let found = -1;
    for (const line of normalizeText(page).split('\n')) {
      if (line.length < MIN_ANCHOR_CHARS && !/\p{Script=Han}{2}/u.test(line)) continue;
      const at = body.indexOf(line, cursor);
      if (at >= 0) {
        found = at;
        break;
      }
    }
    if (found >= 0) cursor = found;
    starts.push(cursor);
  });
  return starts;
}

/**
 * 1-based page holding `offset`, given page start offsets (as from locatePageStarts). Pages that
 * share a start (ones that could not be located) resolve to the first of them, the one whose
 * text is known to be there.
 */
export function pageAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  while (lo > 0 && starts[lo - 1] === starts[lo]) lo--;
  return lo + 1;
}
