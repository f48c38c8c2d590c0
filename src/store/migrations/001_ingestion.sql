-- Secondary data (RAG): sources, documents, chunks, BM25, embeddings, index versions, runs.

CREATE TABLE sources (
  name        TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  path        TEXT NOT NULL,
  mode        TEXT NOT NULL CHECK (mode IN ('full', 'append')),
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE documents (
  id            INTEGER PRIMARY KEY,
  source        TEXT NOT NULL REFERENCES sources(name),
  external_id   TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('news', 'comment', 'post')),
  title         TEXT NOT NULL DEFAULT '',
  body          TEXT NOT NULL,
  url           TEXT,
  author        TEXT,
  published_at  TEXT,                       -- ISO 8601 UTC, NULL when unknown
  tags          TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
  acl_groups    TEXT NOT NULL DEFAULT '[]', -- JSON array; [] = visible to every key
  content_hash  TEXT NOT NULL,              -- hash of the normalised title + body + metadata
  text_hash     TEXT NOT NULL,              -- hash of the normalised body (exact-duplicate key)
  minhash       BLOB,                       -- MinHash signature (Uint32Array) for near duplicates
  first_seen    TEXT NOT NULL,
  last_seen     TEXT NOT NULL,
  last_run_id   INTEGER,
  deleted_at    TEXT,
  UNIQUE (source, external_id)
);
CREATE INDEX documents_text_hash ON documents(text_hash) WHERE deleted_at IS NULL;
CREATE INDEX documents_source_live ON documents(source, last_run_id) WHERE deleted_at IS NULL;
CREATE INDEX documents_published ON documents(published_at);

-- LSH buckets of live documents' MinHash signatures (one row per band).
CREATE TABLE document_lsh (
  band         INTEGER NOT NULL,
  bucket       INTEGER NOT NULL,
  document_id  INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  PRIMARY KEY (band, bucket, document_id)
) WITHOUT ROWID;
CREATE INDEX document_lsh_doc ON document_lsh(document_id);

-- A chunk's id is its HNSW label. vector_label is set when the chunk is in the active index
-- version (NULL = pending for the dense leg). A removed chunk that is still in the active
-- index is kept with retired_at set until the next index version drops it, so the SQLite
-- state always says exactly which labels the active index file holds.
CREATE TABLE chunks (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id   INTEGER NOT NULL REFERENCES documents(id),
  ordinal       INTEGER NOT NULL,
  text          TEXT NOT NULL,
  embed_text    TEXT NOT NULL,             -- text given to the embedding model (title-prefixed)
  embed_hash    TEXT NOT NULL,             -- hash of embed_text: embedding-cache key
  start_offset  INTEGER NOT NULL,
  end_offset    INTEGER NOT NULL,
  token_count   INTEGER NOT NULL,
  vector_label  INTEGER,
  retired_at    TEXT
);
CREATE INDEX chunks_document ON chunks(document_id) WHERE retired_at IS NULL;
CREATE INDEX chunks_pending ON chunks(id) WHERE vector_label IS NULL AND retired_at IS NULL;
CREATE INDEX chunks_retired ON chunks(id) WHERE retired_at IS NOT NULL;

-- BM25 leg: rowid = chunks.id; `terms` holds analysed tokens (jieba-segmented Chinese,
-- stemmed English) separated by spaces, so FTS5's unicode61 tokenizer only splits on spaces.
CREATE VIRTUAL TABLE chunks_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2');

CREATE TABLE quarantine (
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL,
  run_id      INTEGER,
  locator     TEXT,                -- file:line or record id, for the operator
  raw         TEXT NOT NULL,       -- the raw record as read
  reason      TEXT NOT NULL,       -- machine-readable code, e.g. 'invalid_json', 'too_short'
  detail      TEXT,                -- human-readable explanation
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX quarantine_run ON quarantine(run_id);

CREATE TABLE ingest_runs (
  id           INTEGER PRIMARY KEY,
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'aborted')),
  trigger      TEXT NOT NULL DEFAULT 'cli',   -- cli | scheduler | api
  sources      TEXT NOT NULL DEFAULT '[]',    -- JSON array of source names
  report       TEXT,                          -- JSON run report
  error        TEXT,
  pid          INTEGER
);

CREATE TABLE embedding_cache (
  model_id   TEXT NOT NULL,
  text_hash  TEXT NOT NULL,
  dim        INTEGER NOT NULL,
  vector     BLOB NOT NULL,        -- Float32Array bytes
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (model_id, text_hash)
) WITHOUT ROWID;

CREATE TABLE index_versions (
  id          INTEGER PRIMARY KEY,
  model_id    TEXT NOT NULL,
  dim         INTEGER NOT NULL,
  file        TEXT NOT NULL,       -- path relative to data_dir
  vectors     INTEGER NOT NULL,    -- live vectors in the file
  params      TEXT NOT NULL,       -- JSON: m, ef_construction, max_elements
  active      INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX index_versions_one_active ON index_versions(active) WHERE active = 1;

-- Cross-process locks (ingestion, index swaps, fine-tune runs). A lock whose heartbeat is
-- older than its ttl is stale and may be taken over.
CREATE TABLE locks (
  name        TEXT PRIMARY KEY,
  owner       TEXT NOT NULL,
  pid         INTEGER,
  acquired_at TEXT NOT NULL,
  heartbeat   INTEGER NOT NULL,    -- unix ms
  ttl_ms      INTEGER NOT NULL
);

-- Small key/value facts about the store, e.g. the fingerprint of the cleaning + chunking
-- settings the current chunks were made with.
CREATE TABLE settings (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
);
