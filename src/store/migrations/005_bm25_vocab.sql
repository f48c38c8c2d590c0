-- Per-term document frequencies of the BM25 index (read-only view maintained by FTS5). Query
-- planning uses it to drop terms that occur in a large share of chunks: they add little to BM25
-- but make FTS5 score most of the index.
CREATE VIRTUAL TABLE chunks_fts_vocab USING fts5vocab('chunks_fts', 'row');
