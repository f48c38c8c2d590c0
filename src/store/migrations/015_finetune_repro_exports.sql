-- Reproducibility record of a fine-tune run (seed 004), JSON (finetune/runs/repro.ts): git
-- commit, config and data hashes, seed, the planner's estimate, and — once the run succeeded —
-- the measured tokens/s, peak memory and the library/CUDA/driver/GPU versions.
ALTER TABLE finetune_runs ADD COLUMN repro TEXT;

-- Every `kb finetune export` of a run: merged 16-bit weights, a GGUF model or a LoRA GGUF, with
-- the checksum of what was written (a folder's checksum: sha256 over its files' "sha256  name" lines).
CREATE TABLE adapter_exports (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES finetune_runs(id),
  adapter_id  INTEGER REFERENCES adapters(id),
  format      TEXT NOT NULL CHECK (format IN ('merged', 'gguf', 'adapter-gguf')),
  path        TEXT NOT NULL,                 -- folder (merged) or .gguf file
  sha256      TEXT NOT NULL,
  bytes       INTEGER NOT NULL,
  details     TEXT,                          -- JSON: dtype/outtype, files, Modelfile, converter
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX adapter_exports_run ON adapter_exports(run_id, id);
