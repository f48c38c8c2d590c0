-- Page (PDF) or slide (PPTX) number where a chunk starts, 1-based; NULL for formats without pages.
-- Carried into retrieval hits and chat citations so a reader can open the cited page.
ALTER TABLE chunks ADD COLUMN page INTEGER;

-- Quarantine: an unchanged rejected record is recorded once. `fingerprint` identifies it (source,
-- reason, raw text; not the locator, which moves when an export is reordered); a later run that rejects it again bumps `last_run_id` and
-- `times_seen` instead of adding a row.
ALTER TABLE quarantine ADD COLUMN fingerprint TEXT;
ALTER TABLE quarantine ADD COLUMN last_run_id INTEGER;
ALTER TABLE quarantine ADD COLUMN times_seen INTEGER NOT NULL DEFAULT 1;
UPDATE quarantine SET last_run_id = run_id;
CREATE INDEX quarantine_fingerprint ON quarantine(fingerprint);
