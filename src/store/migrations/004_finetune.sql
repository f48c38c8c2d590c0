-- Semiannual LoRA fine-tunes: training runs, the adapter registry and deployment history.

-- One row per `kb finetune train` run. The run folder (path) holds run.json (the trainer's
-- config), trainer.log, events.jsonl and output/ (checkpoints, adapter, summary).
CREATE TABLE finetune_runs (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,          -- e.g. company-2026h1; also the adapter version
  status        TEXT NOT NULL CHECK (status IN ('created', 'running', 'succeeded', 'failed', 'interrupted')),
  config        TEXT NOT NULL,                 -- JSON: the run config given to train_lora.py
  path          TEXT NOT NULL,                 -- run folder (absolute)
  adapter_path  TEXT,                          -- PEFT adapter folder once training succeeded
  merged_path   TEXT,                          -- merged full model folder, when merge was enabled
  dataset_hash  TEXT,
  progress      TEXT,                          -- JSON: last progress line (step, loss, eta_s, ...)
  metrics       TEXT,                          -- JSON: the trainer's final summary
  error_tail    TEXT,                          -- last lines of the trainer's stderr/error event on failure
  pid           INTEGER,                       -- trainer process while running
  attempts      INTEGER NOT NULL DEFAULT 0,    -- launches (1 + resumes)
  trigger       TEXT NOT NULL DEFAULT 'cli',   -- cli | scheduler
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at   TEXT
);
CREATE INDEX finetune_runs_status ON finetune_runs(status);

-- Versioned adapters. status: candidate (trained, not serving), active (serving for at least
-- one assistant), retired (was active, replaced or rolled back).
CREATE TABLE adapters (
  id           INTEGER PRIMARY KEY,
  version      TEXT NOT NULL UNIQUE,           -- served LoRA name, e.g. company-2026h1
  run_id       INTEGER REFERENCES finetune_runs(id),
  path         TEXT NOT NULL,                  -- PEFT adapter folder
  base_model   TEXT NOT NULL,
  eval_report  TEXT,                           -- JSON: the latest `kb finetune eval` report
  status       TEXT NOT NULL DEFAULT 'candidate' CHECK (status IN ('candidate', 'active', 'retired')),
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  deployed_at  TEXT
);

-- Deployment history per assistant: deploy pushes, rollback pops. The active adapter of an
-- assistant is the adapter of its latest deploy row that was not rolled back
-- (adapter_id NULL = the base model without adapter).
CREATE TABLE adapter_deployments (
  id              INTEGER PRIMARY KEY,
  assistant       TEXT NOT NULL,
  action          TEXT NOT NULL CHECK (action IN ('deploy', 'rollback')),
  adapter_id      INTEGER REFERENCES adapters(id),   -- adapter serving after this action
  previous_id     INTEGER REFERENCES adapters(id),   -- adapter serving before this action
  forced          INTEGER NOT NULL DEFAULT 0,        -- promotion gate overridden
  gate            TEXT,                              -- JSON: the gate decision
  note            TEXT,
  rolled_back_at  TEXT,                              -- set on a deploy row when rolled back
  at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX adapter_deployments_assistant ON adapter_deployments(assistant, id);
