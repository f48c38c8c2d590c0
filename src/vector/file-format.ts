// Errors about hnswlib index files. The file format itself (header, level-0 records, upper-level
// links) is parsed and verified in integrity.ts: hnswlib neither stores the dimension (a wrong
// one loads as garbage) nor checks its writes (a full disk leaves a silently truncated file) nor
// validates what it reads (a corrupt file crashes it), so nothing reaches it unverified.

export class IndexFileError extends Error {
  constructor(
    readonly file: string,
    /** What is wrong, without the path (for callers that must not see server paths). */
    readonly detail: string,
  ) {
    super(`index file ${file}: ${detail}`);
    this.name = 'IndexFileError';
  }
}
