-- The BM25 engine's index versions (src/bm25/versions.ts). Each version is one immutable file
-- under data_dir/bm25/ holding the postings of the live chunks at build time; it is verified
-- against `sha256` before use. `removed_seq`: removals up to this bm25_removed.seq were already
-- applied when the file was built; later ones are the version's deletes (live-docs set).
CREATE TABLE bm25_versions (
  id            INTEGER PRIMARY KEY,
  file          TEXT NOT NULL,        -- path relative to data_dir
  sha256        TEXT NOT NULL,        -- hex SHA-256 of the whole file
  bytes         INTEGER NOT NULL,
  docs          INTEGER NOT NULL,     -- chunks in the file
  terms         INTEGER NOT NULL,
  postings      INTEGER NOT NULL,
  max_chunk_id  INTEGER NOT NULL,     -- highest chunk id the build saw (later chunks are not in the file)
  removed_seq   INTEGER NOT NULL,
  params        TEXT NOT NULL,        -- JSON: k1, b, block_size
  seconds       REAL,                 -- build time
  active        INTEGER NOT NULL DEFAULT 0,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX bm25_versions_one_active ON bm25_versions(active) WHERE active = 1;

-- Chunks removed from the BM25 index (written by src/bm25 in the transaction that removes the
-- chunk). Readers mask these out of the active version's file, so a deleted or replaced chunk
-- is never returned even before the next version is built.
CREATE TABLE bm25_removed (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  chunk_id  INTEGER NOT NULL
);
