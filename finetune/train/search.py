#!/usr/bin/env python3
"""Hyper-parameter search for the LoRA trainer (seed 004): an Optuna study whose trials are short
runs of the real train_lora.py on a subset of the data, with a step budget per trial.

    python3 search.py --config base.json --space space.json --study-dir DIR \
        [--sampler tpe|random|grid] [--trials N] [--step-budget N] [--train-subset N] [--val-subset N]
        [--pruner median|none] [--startup-trials N] [--warmup-steps N] [--evals-per-trial N] [--seed N]
        [--trainer-cmd '["python3", "train_lora.py"]']

base.json is a run config as `kb finetune train` writes it (finetune/train/run-config.ts); each
trial copies it, applies the sampled parameters, caps training at the step budget and trains on
the subset. The objective is the trial's best validation loss (minimised). Each validation loss
the trainer reports (its "eval" events) is reported to the study; the median pruner stops a trial
whose loss is worse than the median of earlier trials at the same step (the trainer is killed).

The study lives in DIR/study.db (SQLite): running the same command again continues it — finished
trials are kept, a trial left running by a killed search is marked failed, and --trials is the
total wanted, not the number to add.

Protocol (stdout, one JSON object per line, like train_lora.py):
    {"event":"search_start", "study", "sampler", "finished", "to_run", "train_samples", "val_samples"}
    {"event":"trial_start", "number", "params"}
    {"event":"trial_eval", "number", "step", "eval_loss"}
    {"event":"trial_end", "number", "state", "value", "steps", "runtime_s"}
    {"event":"search_summary", "best", "trials", "importances", "apply_overrides", ...}
    {"event":"error", "kind", "message"}            exit 2 (invalid input) or 1
"""

import argparse
import copy
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import warnings

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
HERE = os.path.dirname(os.path.abspath(__file__))

# LoRA target-module presets (names of the Qwen2/Llama/DeepSeek-distill projection layers).
TARGET_PRESETS = {
    "attention": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mlp": ["gate_proj", "up_proj", "down_proj"],
    "all-linear": "all-linear",
}
SCHEDULERS = ("cosine", "cosine_with_restarts", "linear", "constant")
# Parameter name → what it sets in the run config (see apply_params).
PARAMS = ("learning_rate", "lora_r", "lora_alpha_ratio", "lora_dropout", "target_modules", "effective_batch",
          "per_device_batch_size", "epochs", "warmup_ratio", "lr_scheduler", "weight_decay")


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}, ensure_ascii=False, default=str), flush=True)


class InvalidInput(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Search space: {"params": {name: {"type": "float"|"int"|"categorical", ...}}}
# --------------------------------------------------------------------------------------------

def validate_space(space):
    params = space.get("params") if isinstance(space, dict) else None
    if not isinstance(params, dict) or not params:
        raise InvalidInput('space: needs a non-empty "params" object')
    for name, p in params.items():
        where = f"space.params.{name}"
        if name not in PARAMS:
            raise InvalidInput(f"{where}: unknown parameter (known: {', '.join(PARAMS)})")
        kind = p.get("type") if isinstance(p, dict) else None
        if kind == "categorical":
            if not isinstance(p.get("choices"), list) or not p["choices"]:
                raise InvalidInput(f"{where}.choices: a non-empty list")
        elif kind in ("float", "int"):
            lo, hi = p.get("low"), p.get("high")
            if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)) or not lo < hi:
                raise InvalidInput(f"{where}: numbers low < high")
            if p.get("log") and lo <= 0:
                raise InvalidInput(f"{where}: log scale needs low > 0")
        else:
            raise InvalidInput(f'{where}.type: one of "float", "int", "categorical"')
        if name == "target_modules":
            bad = [c for c in p.get("choices", []) if c not in TARGET_PRESETS]
            if kind != "categorical" or bad:
                raise InvalidInput(f"{where}: categorical over {', '.join(TARGET_PRESETS)}")
        if name == "lr_scheduler" and (kind != "categorical" or any(c not in SCHEDULERS for c in p["choices"])):
            raise InvalidInput(f"{where}: categorical over {', '.join(SCHEDULERS)}")
    return params


def grid_values(p, points):
    """The grid sampler's values: categorical choices, else `grid`, else `points` values (log-spaced when log)."""
    if p["type"] == "categorical":
        return list(p["choices"])
    if isinstance(p.get("grid"), list) and p["grid"]:
        return list(p["grid"])
    lo, hi = p["low"], p["high"]
    if p.get("log"):
        vals = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (points - 1)) for i in range(points)]
    else:
        vals = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
    return sorted({int(round(v)) for v in vals}) if p["type"] == "int" else [float(f"{v:.6g}") for v in vals]


def suggest(trial, params):
    out = {}
    for name, p in params.items():
        if p["type"] == "categorical":
            out[name] = trial.suggest_categorical(name, p["choices"])
        elif p["type"] == "int":
            out[name] = trial.suggest_int(name, int(p["low"]), int(p["high"]), log=bool(p.get("log")))
        else:
            out[name] = trial.suggest_float(name, float(p["low"]), float(p["high"]), log=bool(p.get("log")))
    return out


def apply_params(base, params):
    """The run config for these parameters, and the same change as dotted overrides (for --apply)."""
    cfg = copy.deepcopy(base)
    t, lora = cfg["training"], cfg["lora"]
    ov = {}

    def put(key, value):
        node = cfg
        parts = key.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
        ov[key] = value

    if "learning_rate" in params:
        put("training.learning_rate", float(params["learning_rate"]))
    if "lora_r" in params:
        put("lora.r", int(params["lora_r"]))
    if "lora_alpha_ratio" in params:  # alpha as a multiple of the rank: the scale alpha/r stays comparable across ranks
        put("lora.alpha", float(params["lora_alpha_ratio"]) * lora["r"])
    if "lora_dropout" in params:
        put("lora.dropout", float(params["lora_dropout"]))
    if "target_modules" in params:
        put("lora.target_modules", TARGET_PRESETS[params["target_modules"]])
    if "per_device_batch_size" in params:
        put("training.per_device_batch_size", int(params["per_device_batch_size"]))
    if "effective_batch" in params:  # effective batch = per-device batch × accumulation (one process)
        put("training.gradient_accumulation_steps", max(1, round(int(params["effective_batch"]) / t["per_device_batch_size"])))
    if "epochs" in params:
        put("training.epochs", float(params["epochs"]))
    if "warmup_ratio" in params:
        put("training.warmup_ratio", float(params["warmup_ratio"]))
        put("training.warmup_steps", None)
    if "lr_scheduler" in params:
        put("training.lr_scheduler", params["lr_scheduler"])
    if "weight_decay" in params:
        put("training.weight_decay", float(params["weight_decay"]))
    return cfg, ov


# --------------------------------------------------------------------------------------------
# Trials
# --------------------------------------------------------------------------------------------

def subset(src, dst, n, seed):
    """A seeded random subset of a JSONL file, written once (a resumed study reuses it)."""
    if os.path.isfile(dst):
        with open(dst, encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())
    with open(src, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    if not lines:
        raise InvalidInput(f"{src}: no samples")
    random.Random(seed).shuffle(lines)
    chosen = lines[:n] if n else lines
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(line if line.endswith("\n") else line + "\n" for line in chosen)
    os.replace(tmp, dst)
    return len(chosen)


class TrialFailed(Exception):
    pass


CURRENT_CHILD = None


def run_trial(trial, args, base, params, space, train_n, optuna):
    values = suggest(trial, params)
    cfg, overrides = apply_params(base, values)
    t = cfg["training"]
    steps_per_epoch = max(1, math.ceil(train_n / (t["per_device_batch_size"] * t["gradient_accumulation_steps"])))
    steps = max(1, min(args.step_budget, math.ceil(steps_per_epoch * t["epochs"])))
    trial_dir = os.path.join(args.study_dir, "trials", f"{trial.number:04d}")
    shutil.rmtree(trial_dir, ignore_errors=True)
    os.makedirs(trial_dir)
    cfg.update(run_name=f"{base['run_name']}-trial{trial.number}", output_dir=os.path.join(trial_dir, "output"))
    cfg["data"].update(train=os.path.join(args.study_dir, "data", "train.jsonl"), val=os.path.join(args.study_dir, "data", "val.jsonl"))
    t["max_steps"] = steps
    every = max(1, steps // args.evals_per_trial)
    cfg["eval"].update(every_steps=every, early_stopping_patience=0)  # the pruner decides, not the trainer
    cfg["logging"]["every_steps"] = every
    cfg["checkpoint"]["every_steps"] = steps + 1  # trials are not resumed: no checkpoints
    cfg["merge"]["enabled"] = False
    cfg["metadata"] = {**cfg.get("metadata", {}), "search": {"study": args.study_name, "trial": trial.number, "params": values}}
    config_path = os.path.join(trial_dir, "run.json")
    with open(config_path, "w") as f:
        json.dump(cfg, f, indent=2)
    trial.set_user_attr("overrides", overrides)
    trial.set_user_attr("step_budget", steps)
    emit("trial_start", number=trial.number, params=values, steps=steps)

    global CURRENT_CHILD
    started = time.time()
    log = open(os.path.join(trial_dir, "trainer.log"), "w")
    proc = subprocess.Popen(args.trainer_cmd + ["--config", config_path], stdout=subprocess.PIPE, stderr=log, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    CURRENT_CHILD = proc
    summary, error, pruned, last_step = None, None, False, 0
    try:
        for line in proc.stdout:
            log.write(line)
            try:
                ev = json.loads(line) if line.lstrip().startswith("{") else None
            except json.JSONDecodeError:
                ev = None
            if not isinstance(ev, dict):
                continue
            if ev.get("event") == "eval" and isinstance(ev.get("eval_loss"), (int, float)):
                last_step = int(ev["step"])
                trial.report(float(ev["eval_loss"]), last_step)
                emit("trial_eval", number=trial.number, step=last_step, eval_loss=ev["eval_loss"])
                if trial.should_prune():
                    pruned = True
                    proc.kill()  # a pruned trial's weights are not wanted: no checkpoint
                    break
            elif ev.get("event") == "summary":
                summary = ev
            elif ev.get("event") == "error":
                error = f"{ev.get('kind')}: {ev.get('message')}"
        proc.stdout.close()
        code = proc.wait()
    finally:
        CURRENT_CHILD = None
        log.close()
        # The trial's weights are not kept (a trial is a measurement); its run.json and log are.
        shutil.rmtree(os.path.join(trial_dir, "output"), ignore_errors=True)
    runtime = round(time.time() - started, 1)
    trial.set_user_attr("steps", last_step)
    trial.set_user_attr("runtime_s", runtime)
    if pruned:
        emit("trial_end", number=trial.number, state="PRUNED", value=None, steps=last_step, runtime_s=runtime)
        raise optuna.TrialPruned()
    if code != 0 or summary is None:
        reason = error or f"trainer exited with code {code}"
        trial.set_user_attr("error", reason[:2000])
        emit("trial_end", number=trial.number, state="FAIL", value=None, steps=last_step, runtime_s=runtime, error=reason[:2000])
        raise TrialFailed(reason)
    value = summary.get("best_eval_loss")
    if not isinstance(value, (int, float)):
        value = summary.get("final_eval_loss")
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        trial.set_user_attr("error", "no validation loss in the summary")
        emit("trial_end", number=trial.number, state="FAIL", value=None, steps=last_step, runtime_s=runtime, error="no validation loss")
        raise TrialFailed("no validation loss in the trainer's summary")
    trial.set_user_attr("steps", int(summary.get("steps", last_step)))
    emit("trial_end", number=trial.number, state="COMPLETE", value=value, steps=int(summary.get("steps", last_step)), runtime_s=runtime)
    return float(value)


# --------------------------------------------------------------------------------------------
# Study
# --------------------------------------------------------------------------------------------

def make_sampler(args, params, optuna, offset):
    # The seed moves on with the trials already run: a resumed random/TPE study must not replay
    # the parameters of its first trials.
    seed = args.seed + offset
    if args.sampler == "grid":
        return optuna.samplers.GridSampler({n: grid_values(p, args.grid_points) for n, p in params.items()}, seed=args.seed)
    if args.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=args.startup_trials, multivariate=True)


def trial_row(t):
    inter = t.intermediate_values
    return {"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
            "steps": t.user_attrs.get("steps"), "runtime_s": t.user_attrs.get("runtime_s"),
            "last_eval_loss": inter[max(inter)] if inter else None, "error": t.user_attrs.get("error")}


def summarize(study, optuna, train_n, base):
    trials = [trial_row(t) for t in study.get_trials(deepcopy=False)]
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    best = min(complete, key=lambda t: t.value) if complete else None
    importances, importance_error = None, None
    if len(complete) >= 2:
        try:
            importances = {k: round(v, 4) for k, v in optuna.importance.get_param_importances(study).items()}
        except (RuntimeError, ValueError) as e:  # e.g. every trial had the same parameters
            importance_error = str(e)
    else:
        importance_error = "needs at least 2 completed trials"
    apply_overrides = None
    if best is not None:
        apply_overrides = dict(best.user_attrs.get("overrides", {}))
    return {"study": study.study_name, "direction": "minimize", "objective": "best validation loss",
            "best": trial_row(best) if best else None, "trials": trials, "importances": importances,
            "importance_error": importance_error, "apply_overrides": apply_overrides, "train_samples": train_n,
            "base_model": base["base_model"]}


def on_signal(signum, _frame):
    if CURRENT_CHILD is not None and CURRENT_CHILD.poll() is None:
        CURRENT_CHILD.kill()
    raise KeyboardInterrupt


def parse_args(argv):
    p = argparse.ArgumentParser(description="Optuna search over train_lora.py hyper-parameters (see module docstring).")
    p.add_argument("--config", required=True, help="base run config JSON")
    p.add_argument("--space", required=True, help="search space JSON")
    p.add_argument("--study-dir", required=True)
    p.add_argument("--study-name", default="search")
    p.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe")
    p.add_argument("--trials", type=int, default=20, help="total finished (complete or pruned) trials wanted")
    p.add_argument("--step-budget", type=int, default=60, help="most optimizer steps per trial")
    p.add_argument("--train-subset", type=int, default=512, help="training samples per trial (0 = all)")
    p.add_argument("--val-subset", type=int, default=64, help="validation samples per trial (0 = all)")
    p.add_argument("--pruner", choices=("median", "none"), default="median")
    p.add_argument("--startup-trials", type=int, default=5, help="trials before TPE models and before the pruner prunes")
    p.add_argument("--warmup-steps", type=int, default=0, help="steps of a trial the pruner never prunes")
    p.add_argument("--evals-per-trial", type=int, default=4)
    p.add_argument("--grid-points", type=int, default=3, help="values per numeric range for --sampler grid")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--trainer-cmd", default=None, help='JSON argv of the trainer (default: this python + train_lora.py)')
    a = p.parse_args(argv)
    for key in ("trials", "step_budget", "evals_per_trial", "startup_trials"):
        if getattr(a, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be ≥ 1")
    if a.grid_points < 2:
        p.error("--grid-points must be ≥ 2")
    a.trainer_cmd = json.loads(a.trainer_cmd) if a.trainer_cmd else [sys.executable, os.path.join(HERE, "train_lora.py")]
    a.study_dir = os.path.abspath(a.study_dir)
    return a


def main(argv=None):
    args = parse_args(argv)
    try:
        try:
            with open(args.config, encoding="utf-8") as f:
                base = json.load(f)
            with open(args.space, encoding="utf-8") as f:
                space = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise InvalidInput(f"cannot read the base config or the space: {e}")
        params = validate_space(space)
        for key in ("run_name", "data", "training", "lora", "eval", "logging", "checkpoint", "merge"):
            if key not in base:
                raise InvalidInput(f"{args.config}: not a run config (no {key})")
        import optuna  # after validation: bad input is reported without the library
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

        os.makedirs(os.path.join(args.study_dir, "data"), exist_ok=True)
        train_n = subset(base["data"]["train"], os.path.join(args.study_dir, "data", "train.jsonl"), args.train_subset, args.seed)
        val_n = subset(base["data"]["val"], os.path.join(args.study_dir, "data", "val.jsonl"), args.val_subset, args.seed + 1)

        storage = f"sqlite:///{os.path.join(args.study_dir, 'study.db')}"
        study = optuna.create_study(study_name=args.study_name, storage=storage, direction="minimize", load_if_exists=True)
        # A search killed mid-trial leaves it RUNNING; one process owns a study, so it is dead.
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        finished_states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        finished = len(study.get_trials(deepcopy=False, states=finished_states))
        to_run = max(0, args.trials - finished)
        study.sampler = make_sampler(args, params, optuna, len(study.get_trials(deepcopy=False)))
        if args.pruner == "median":
            study.pruner = optuna.pruners.MedianPruner(n_startup_trials=args.startup_trials, n_warmup_steps=args.warmup_steps)
        else:
            study.pruner = optuna.pruners.NopPruner()
        emit("search_start", study=args.study_name, sampler=args.sampler, pruner=args.pruner, finished=finished, to_run=to_run,
             train_samples=train_n, val_samples=val_n, step_budget=args.step_budget, storage=storage)
        signal.signal(signal.SIGTERM, on_signal)
        interrupted = False
        try:
            if to_run:
                # Failed trials count against this invocation's trials, so a broken trainer cannot loop forever.
                study.optimize(lambda tr: run_trial(tr, args, base, params, space, train_n, optuna), n_trials=to_run,
                               catch=(TrialFailed,), gc_after_trial=True)
        except KeyboardInterrupt:
            interrupted = True
        summary = summarize(study, optuna, train_n, base)
        emit("search_summary", interrupted=interrupted, **summary)
        with open(os.path.join(args.study_dir, "results.json"), "w") as f:
            json.dump(summary, f, indent=2, default=str)
        if interrupted:
            return EXIT_INTERRUPTED
        return EXIT_OK if summary["best"] else EXIT_FAILED
    except InvalidInput as e:
        emit("error", kind="invalid_input", message=str(e))
        print(f"error: {e}", file=sys.stderr, flush=True)
        return EXIT_INVALID
    except ImportError as e:
        msg = f"{e}. Set up the trainer's environment: finetune/train/setup-venv.sh (optuna is in requirements.txt)"
        emit("error", kind="missing_dependency", message=msg)
        print(f"error: {msg}", file=sys.stderr, flush=True)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
