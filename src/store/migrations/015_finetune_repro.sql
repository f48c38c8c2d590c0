-- Reproducibility record of a fine-tune run (seed 004), JSON (finetune/runs/repro.ts): git
-- commit, config and data hashes, seed, the planner's estimate, and — once the run succeeded —
-- the measured tokens/s, peak memory and the library/CUDA/driver/GPU versions.
ALTER TABLE finetune_runs ADD COLUMN repro TEXT;
