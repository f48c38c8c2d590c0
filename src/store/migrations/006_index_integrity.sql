-- Index-file integrity: the SHA-256 and size of each version's file as written. A file is
-- verified against them before hnswlib reads it (a corrupt file crashes native code). NULL for
-- versions written before this migration: those are checked structurally and get their digest
-- recorded the first time the ingest job or `kb index verify` finds them sound.
ALTER TABLE index_versions ADD COLUMN sha256 TEXT;
ALTER TABLE index_versions ADD COLUMN bytes INTEGER;
