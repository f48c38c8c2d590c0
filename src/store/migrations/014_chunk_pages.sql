-- Page (PDF) or slide (PPTX) number where a chunk starts, 1-based; NULL for formats without pages.
-- Carried into retrieval hits and chat citations so a reader can open the cited page.
ALTER TABLE chunks ADD COLUMN page INTEGER;
