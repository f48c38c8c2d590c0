-- Core structured data (companies, people, products, exhibitions, conferences, reports): the
-- typed records that drive the LoRA fine-tunes. Types and fields are defined in config `core:`;
-- a record is stored as validated JSON so adding a field needs no migration.

CREATE TABLE core_imports (
  id           INTEGER PRIMARY KEY,
  type         TEXT NOT NULL,
  file         TEXT NOT NULL,
  format       TEXT NOT NULL CHECK (format IN ('csv', 'jsonl', 'json')),
  mode         TEXT NOT NULL CHECK (mode IN ('upsert', 'replace')),
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  report       TEXT              -- JSON import report (counts, quarantine reasons, broken references)
);

CREATE TABLE core_entities (
  type        TEXT NOT NULL,
  key         TEXT NOT NULL,
  data        TEXT NOT NULL,     -- JSON object of the type's fields (localized fields as <name>_zh/_en)
  data_hash   TEXT NOT NULL,     -- hash of `data`: unchanged rows are not rewritten
  updated_at  TEXT NOT NULL,
  import_run  INTEGER REFERENCES core_imports(id),
  PRIMARY KEY (type, key)
) WITHOUT ROWID;

CREATE TABLE core_quarantine (
  id          INTEGER PRIMARY KEY,
  import_run  INTEGER REFERENCES core_imports(id),
  type        TEXT NOT NULL,
  locator     TEXT NOT NULL,     -- file:line (jsonl/csv) or file#index (json)
  raw         TEXT NOT NULL,     -- the row as read
  reason      TEXT NOT NULL,     -- machine-readable: invalid_json, missing_key, missing_required, bad_value, duplicate_key, not_an_object
  detail      TEXT,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX core_quarantine_run ON core_quarantine(import_run);
