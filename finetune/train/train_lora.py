#!/usr/bin/env python3
"""Train a LoRA adapter for the knowledge assistant's chat model.

Reads a run config JSON written by `kb finetune train` (finetune/train/run-config.ts), trains a
LoRA adapter (QLoRA when quantization is "4bit"/"8bit") on OpenAI-chat JSONL data with the loss
on assistant tokens only, and saves it in PEFT format.

    python3 train_lora.py --config run.json [--validate-only] [--resume] [--max-steps N]
    torchrun --nproc_per_node 2 train_lora.py --config run.json          # multi-GPU (DDP)

Protocol: stdout carries one JSON object per line, each with an "event" key (the orchestrator
parses them; anything else on stdout/stderr is plain log text):
    {"event":"validated", ...}    config and data are valid (--validate-only stops here)
    {"event":"start", ...}        training begins (total_steps, resumed_from_step, ...)
    {"event":"log", "step", "total_steps", "epoch", "loss", "eval_loss", "lr", "tokens_per_s", "eta_s"}
    {"event":"eval", "step", "eval_loss", "best_eval_loss", "patience_left"}
    {"event":"checkpoint", "step", "path"}
    {"event":"interrupted", "step", "checkpoint"}   after SIGINT/SIGTERM; exit code 130
    {"event":"summary", ...}      final summary; exit code 0
    {"event":"error", "message", "kind"}            exit code 2 (invalid config/data) or 1
Only the main process (rank 0) prints events.

Torch, transformers, peft and accelerate are imported only after the config and the data
files were validated, so `--validate-only` runs on a machine without them.
"""

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import signal
import sys
import time
from contextlib import nullcontext

PROTOCOL_VERSION = 1
EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
ROLES = ("system", "user", "assistant")
# transformers.get_scheduler names (constant = constant_with_warmup); restarts = 2 cosine cycles.
SCHEDULERS = ("cosine", "cosine_with_restarts", "linear", "constant")
IGNORE_INDEX = -100  # label value the loss ignores (prompt and padding tokens)


# --------------------------------------------------------------------------------------------
# 1. Output protocol
# --------------------------------------------------------------------------------------------

IS_MAIN_PROCESS = int(os.environ.get("RANK", "0")) == 0


def emit(event, **fields):
    """Prints one protocol line (main process only); stdout is flushed so progress is live."""
    if IS_MAIN_PROCESS:
        print(json.dumps({"event": event, **fields}, ensure_ascii=False, default=str), flush=True)


class InvalidInput(Exception):
    """The config or the data is wrong: the operator must fix it; retrying will not help."""


# --------------------------------------------------------------------------------------------
# 2. Config: the keys, their types and defaults (mirrors finetune/train/run-config.ts)
# --------------------------------------------------------------------------------------------

DEFAULTS = {
    "version": 1,
    "run_name": None,
    "base_model": None,
    "trust_remote_code": False,
    "data": {"train": None, "val": None, "max_seq_len": 2048},
    "output_dir": None,
    "lora": {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear"},
    "quantization": "none",
    "training": {
        "epochs": 3,
        "max_steps": None,
        "per_device_batch_size": 1,
        "gradient_accumulation_steps": 16,
        "learning_rate": 2e-4,
        "weight_decay": 0.0,
        "warmup_ratio": 0.03,
        "warmup_steps": None,
        "lr_scheduler": "cosine",
        "max_grad_norm": 1.0,
        "precision": "bf16",
        "gradient_checkpointing": True,
        "seed": 42,
    },
    "eval": {"every_steps": 50, "early_stopping_patience": 3, "early_stopping_min_delta": 0.0},
    "logging": {"every_steps": 10},
    "checkpoint": {"every_steps": 100, "keep_last": 2},
    "distributed": {"num_processes": 1},
    "merge": {"enabled": False, "output_dir": None},
    "metadata": {},
}


def merge_defaults(defaults, given, path=""):
    """Fills missing keys from DEFAULTS; unknown keys are errors (a typo must not be ignored)."""
    errors = []
    if not isinstance(given, dict):
        return defaults, [f"{path or 'config'}: must be an object"]
    out = {}
    for key in given:
        if key not in defaults:
            errors.append(f"{path}{key}: unknown key")
    for key, default in defaults.items():
        value = given.get(key, default)
        if isinstance(default, dict) and key != "metadata":
            value, sub_errors = merge_defaults(default, given.get(key, {}), f"{path}{key}.")
            errors.extend(sub_errors)
        out[key] = value
    return out, errors


def validate_config(raw):
    """Returns (config with defaults, list of error strings)."""
    cfg, errors = merge_defaults(DEFAULTS, raw)
    if errors:
        return cfg, errors

    def check(ok, key, message):
        if not ok:
            errors.append(f"{key}: {message}")

    def is_int(v, minimum=None):
        return isinstance(v, int) and not isinstance(v, bool) and (minimum is None or v >= minimum)

    def is_num(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    t, lora = cfg["training"], cfg["lora"]
    check(cfg["version"] == 1, "version", "only version 1 is supported")
    check(isinstance(cfg["run_name"], str) and cfg["run_name"] != "", "run_name", "required string")
    check(isinstance(cfg["base_model"], str) and cfg["base_model"] != "", "base_model", "required: a local folder or a hub id")
    check(isinstance(cfg["trust_remote_code"], bool), "trust_remote_code", "must be true or false")
    check(isinstance(cfg["data"]["train"], str) and cfg["data"]["train"] != "", "data.train", "required path")
    check(isinstance(cfg["data"]["val"], str) and cfg["data"]["val"] != "", "data.val", "required path")
    check(is_int(cfg["data"]["max_seq_len"], 16), "data.max_seq_len", "integer ≥ 16")
    check(isinstance(cfg["output_dir"], str) and cfg["output_dir"] != "", "output_dir", "required path")
    check(is_int(lora["r"], 1), "lora.r", "integer ≥ 1")
    check(is_num(lora["alpha"]) and lora["alpha"] > 0, "lora.alpha", "number > 0")
    check(is_num(lora["dropout"]) and 0 <= lora["dropout"] < 1, "lora.dropout", "number in [0, 1)")
    tm = lora["target_modules"]
    check(tm == "all-linear" or (isinstance(tm, list) and tm and all(isinstance(m, str) and m for m in tm)),
          "lora.target_modules", '"all-linear" or a non-empty list of module names')
    check(cfg["quantization"] in ("none", "4bit", "8bit"), "quantization", 'one of "none", "4bit", "8bit"')
    check(is_num(t["epochs"]) and t["epochs"] > 0, "training.epochs", "number > 0")
    check(t["max_steps"] is None or is_int(t["max_steps"], 1), "training.max_steps", "null or integer ≥ 1")
    check(is_int(t["per_device_batch_size"], 1), "training.per_device_batch_size", "integer ≥ 1")
    check(is_int(t["gradient_accumulation_steps"], 1), "training.gradient_accumulation_steps", "integer ≥ 1")
    check(is_num(t["learning_rate"]) and 0 < t["learning_rate"] < 1, "training.learning_rate", "number in (0, 1)")
    check(is_num(t["weight_decay"]) and t["weight_decay"] >= 0, "training.weight_decay", "number ≥ 0")
    check(is_num(t["warmup_ratio"]) and 0 <= t["warmup_ratio"] < 1, "training.warmup_ratio", "number in [0, 1)")
    check(t["warmup_steps"] is None or is_int(t["warmup_steps"], 0), "training.warmup_steps", "null or integer ≥ 0")
    check(t["lr_scheduler"] in SCHEDULERS, "training.lr_scheduler", "one of " + ", ".join(f'"{x}"' for x in SCHEDULERS))
    check(is_num(t["max_grad_norm"]) and t["max_grad_norm"] > 0, "training.max_grad_norm", "number > 0")
    check(t["precision"] in ("bf16", "fp16", "fp32"), "training.precision", 'one of "bf16", "fp16", "fp32"')
    check(isinstance(t["gradient_checkpointing"], bool), "training.gradient_checkpointing", "must be true or false")
    check(is_int(t["seed"], 0), "training.seed", "integer ≥ 0")
    check(is_int(cfg["eval"]["every_steps"], 1), "eval.every_steps", "integer ≥ 1")
    check(is_int(cfg["eval"]["early_stopping_patience"], 0), "eval.early_stopping_patience", "integer ≥ 0 (0 = off)")
    check(is_num(cfg["eval"]["early_stopping_min_delta"]) and cfg["eval"]["early_stopping_min_delta"] >= 0,
          "eval.early_stopping_min_delta", "number ≥ 0")
    check(is_int(cfg["logging"]["every_steps"], 1), "logging.every_steps", "integer ≥ 1")
    check(is_int(cfg["checkpoint"]["every_steps"], 1), "checkpoint.every_steps", "integer ≥ 1")
    check(is_int(cfg["checkpoint"]["keep_last"], 1), "checkpoint.keep_last", "integer ≥ 1")
    check(is_int(cfg["distributed"]["num_processes"], 1), "distributed.num_processes", "integer ≥ 1")
    check(isinstance(cfg["merge"]["enabled"], bool), "merge.enabled", "must be true or false")
    check(cfg["merge"]["output_dir"] is None or isinstance(cfg["merge"]["output_dir"], str), "merge.output_dir", "null or path")
    check(isinstance(cfg["metadata"], dict), "metadata", "must be an object")
    return cfg, errors


# --------------------------------------------------------------------------------------------
# 3. Data: OpenAI chat JSONL, one {"messages": [...]} per line (extra keys are ignored)
# --------------------------------------------------------------------------------------------

def read_chat_jsonl(path, max_errors=20):
    """Returns the list of message lists; raises InvalidInput naming file:line for bad lines."""
    if not os.path.isfile(path):
        raise InvalidInput(f"{path}: file not found")
    samples, errors = [], []
    with open(path, "r", encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            problem = None
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                problem = f"invalid JSON ({e.msg})"
                record = None
            if problem is None:
                problem = sample_problem(record)
            if problem:
                errors.append(f"{path}:{line_no}: {problem}")
                if len(errors) >= max_errors:
                    break
                continue
            samples.append([{"role": m["role"], "content": m["content"]} for m in record["messages"]])
    if errors:
        raise InvalidInput("invalid training data:\n  " + "\n  ".join(errors))
    if not samples:
        raise InvalidInput(f"{path}: no samples")
    return samples


def sample_problem(record):
    """Why a record cannot be trained on, or None."""
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list) or not record["messages"]:
        return 'needs a non-empty "messages" array'
    seen_user = False
    has_assistant = False
    for i, m in enumerate(record["messages"]):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            return f"messages[{i}].role must be one of {', '.join(ROLES)}"
        if not isinstance(m.get("content"), str):
            return f"messages[{i}].content must be a string"
        if m["role"] == "user":
            seen_user = True
        if m["role"] == "assistant":
            if not seen_user:
                return f"messages[{i}]: an assistant message needs a user message before it"
            if not m["content"].strip():
                return f"messages[{i}]: empty assistant message"
            has_assistant = True
    return None if has_assistant else "no assistant message to learn from"


def dataset_hash(paths):
    """sha256 over the data files' bytes (recorded with the adapter, to tie it to its data)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(os.path.basename(p).encode())
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return "sha256:" + h.hexdigest()


# --------------------------------------------------------------------------------------------
# 4. Tokenisation with the chat template, loss on assistant tokens only
# --------------------------------------------------------------------------------------------

def render(tokenizer, messages, generation_prompt=False):
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def segments_for(tokenizer, messages):
    """Splits the rendered conversation into (text, trainable) pieces.

    The rendering of messages[:i+1] minus the rendering of messages[:i] is what the template
    adds for assistant message i: a role header, the content and the end-of-turn marker. The
    header (the longest common prefix with the generation prompt) is given, not learned; the
    content and the end-of-turn marker are learned, so the model learns when to stop.
    Templates that render a turn differently once it is history (e.g. Qwen3 drops the <think>
    block of earlier turns only) are not prefix-stable; then the content string itself, located
    in the full rendering, is learned (or nothing, when the template changed it).
    """
    pieces, done = [], ""
    full = render(tokenizer, messages)
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = render(tokenizer, messages[:i])
        after = render(tokenizer, messages[: i + 1])
        if full.startswith(after) and after.startswith(before) and before.startswith(done):
            prompt_suffix = render(tokenizer, messages[:i], generation_prompt=True)[len(before):]
            turn = after[len(before):]
            header = os.path.commonprefix([turn, prompt_suffix])
            pieces.append((before[len(done):] + header, False))
            pieces.append((turn[len(header):], True))
            done = after
        else:
            at = full.find(m["content"], len(done))
            if at < 0:
                continue  # the template dropped this content; nothing to learn from this turn
            pieces.append((full[len(done):at], False))
            pieces.append((m["content"], True))
            done = full[: at + len(m["content"])]
    pieces.append((full[len(done):], False))
    return [(text, trainable) for text, trainable in pieces if text]


def tokenize_sample(tokenizer, messages, max_seq_len):
    """Returns {"input_ids", "labels"} or None when truncation leaves nothing to learn."""
    input_ids, labels = [], []
    for text, trainable in segments_for(tokenizer, messages):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        input_ids.extend(ids)
        labels.extend(ids if trainable else [IGNORE_INDEX] * len(ids))
    input_ids, labels = input_ids[:max_seq_len], labels[:max_seq_len]
    if all(label == IGNORE_INDEX for label in labels[1:]):
        return None
    return {"input_ids": input_ids, "labels": labels}


def tokenize_all(tokenizer, samples, max_seq_len):
    out, skipped = [], 0
    for messages in samples:
        t = tokenize_sample(tokenizer, messages, max_seq_len)
        if t is None:
            skipped += 1
        else:
            out.append(t)
    return out, skipped


def collate(batch, pad_id, torch):
    """Right-pads a micro-batch; padding gets label IGNORE_INDEX and attention 0."""
    width = max(len(x["input_ids"]) for x in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, x in enumerate(batch):
        n = len(x["input_ids"])
        ids[row, :n] = torch.tensor(x["input_ids"], dtype=torch.long)
        labels[row, :n] = torch.tensor(x["labels"], dtype=torch.long)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def epoch_order(n_samples, epoch, seed, world_size, rank, batch_size):
    """This process's micro-batches (lists of sample indices) for one epoch.

    The order depends only on (seed, epoch), so a resumed run sees the same batches. Every
    process gets the same number of micro-batches (the shuffled list is padded by wrapping),
    which keeps the DDP processes in step.
    """
    order = list(range(n_samples))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    per_step = batch_size * world_size
    n_micro = max(1, math.ceil(n_samples / per_step))
    order = (order * (1 + (n_micro * per_step) // n_samples))[: n_micro * per_step]
    mine = order[rank::world_size]
    return [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]


# --------------------------------------------------------------------------------------------
# 5. Checkpoints: adapter + optimizer + scheduler + RNG + position, written atomically
# --------------------------------------------------------------------------------------------

def checkpoint_dirs(output_dir):
    root = os.path.join(output_dir, "checkpoints")
    if not os.path.isdir(root):
        return []
    found = []
    for name in os.listdir(root):
        path = os.path.join(root, name)
        # trainer_state.json is written last: its presence marks a complete checkpoint.
        if name.startswith("step-") and os.path.isfile(os.path.join(path, "trainer_state.json")):
            found.append((int(name[len("step-"):]), path))
    return [p for _, p in sorted(found)]


def save_checkpoint(accelerator, model, optimizer, scheduler, state, cfg, torch):
    """Saves on the main process into a temporary folder, then renames it into place."""
    root = os.path.join(cfg["output_dir"], "checkpoints")
    final = os.path.join(root, f"step-{state['step']:07d}")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        tmp = final + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        accelerator.unwrap_model(model).save_pretrained(os.path.join(tmp, "adapter"), safe_serialization=True)
        torch.save(optimizer.state_dict(), os.path.join(tmp, "optimizer.pt"))
        torch.save(scheduler.state_dict(), os.path.join(tmp, "scheduler.pt"))
        rng = {"python": random.getstate(), "torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        torch.save(rng, os.path.join(tmp, "rng.pt"))
        with open(os.path.join(tmp, "trainer_state.json"), "w") as f:
            json.dump(state, f, indent=2)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in checkpoint_dirs(cfg["output_dir"])[: -cfg["checkpoint"]["keep_last"]]:
            shutil.rmtree(old, ignore_errors=True)
        emit("checkpoint", step=state["step"], path=final)
    accelerator.wait_for_everyone()
    return final


def save_adapter(accelerator, model, path):
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        tmp = path + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        accelerator.unwrap_model(model).save_pretrained(tmp, safe_serialization=True)
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    accelerator.wait_for_everyone()


# --------------------------------------------------------------------------------------------
# 6. Training
# --------------------------------------------------------------------------------------------

def environment(torch, transformers, peft, accelerate):
    """What a rerun must match to reproduce this run (seed 004): library versions, the Python,
    CUDA and driver versions, the GPUs. The driver is not exposed by torch; nvidia-smi has it."""
    import platform
    import subprocess
    env = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
           "peft": peft.__version__, "accelerate": accelerate.__version__, "cuda": torch.version.cuda,
           "cudnn": None, "driver": None, "gpus": [], "platform": platform.platform()}
    if torch.cuda.is_available():
        env["cudnn"] = torch.backends.cudnn.version()
        env["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout.split()
            env["driver"] = out[0] if out else None
        except (OSError, subprocess.SubprocessError):
            pass  # no nvidia-smi on the PATH (container without the driver utilities): unknown
    return env


STOP_REQUESTED = False


def request_stop(signum, _frame):
    """SIGINT/SIGTERM: finish the current optimizer step, checkpoint, exit 130."""
    global STOP_REQUESTED
    STOP_REQUESTED = True
    print(f"received signal {signum}: checkpointing after the current step", file=sys.stderr, flush=True)


def load_base_model(cfg, torch, transformers, accelerator, for_training=True):
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[cfg["training"]["precision"]]
    kwargs = {"trust_remote_code": cfg["trust_remote_code"]}
    # transformers ≥ 4.56 renamed torch_dtype to dtype (the old name still works, with a warning).
    version = tuple(int(x) for x in transformers.__version__.split(".")[:2] if x.isdigit())
    kwargs["dtype" if version >= (4, 56) else "torch_dtype"] = dtype
    if for_training and cfg["quantization"] != "none":
        # QLoRA: the frozen base weights in 4/8 bit; needs bitsandbytes and a CUDA GPU.
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=cfg["quantization"] == "4bit",
            load_in_8bit=cfg["quantization"] == "8bit",
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype if dtype != torch.float32 else torch.bfloat16,
        )
        kwargs["device_map"] = {"": accelerator.local_process_index}
    return transformers.AutoModelForCausalLM.from_pretrained(cfg["base_model"], **kwargs)


def evaluate(model, val_batches, pad_id, accelerator, torch):
    """Token-weighted mean loss over the validation set (summed across processes)."""
    # The unwrapped module: a DDP forward may broadcast buffers, which would hang when the
    # processes hold different numbers of validation batches.
    model.eval()
    module = accelerator.unwrap_model(model)
    total = torch.zeros(2, device=accelerator.device, dtype=torch.float64)
    with torch.no_grad():
        for batch in val_batches:
            batch = {k: v.to(accelerator.device) for k, v in collate(batch, pad_id, torch).items()}
            with accelerator.autocast():
                out = module(**batch)
            n_tokens = (batch["labels"][:, 1:] != IGNORE_INDEX).sum()
            total += torch.stack([out.loss.double() * n_tokens, n_tokens.double()])
    model.train()
    total = accelerator.reduce(total, reduction="sum")
    return (total[0] / total[1].clamp(min=1)).item()


def train(cfg, args, data_hash, train_samples, val_samples):
    import torch
    import transformers
    import peft
    import accelerate
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    t = cfg["training"]
    precision = {"bf16": "bf16", "fp16": "fp16", "fp32": "no"}[t["precision"]]
    accelerator = Accelerator(mixed_precision=precision)
    set_seed(t["seed"])
    started = time.time()

    # 6a. Tokenizer and data.
    tokenizer = transformers.AutoTokenizer.from_pretrained(cfg["base_model"], trust_remote_code=cfg["trust_remote_code"])
    if not getattr(tokenizer, "chat_template", None):
        raise InvalidInput(f"the tokenizer of {cfg['base_model']} has no chat template (tokenizer_config.json: chat_template)")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    pad_id = tokenizer.pad_token_id
    train_set, skipped_train = tokenize_all(tokenizer, train_samples, cfg["data"]["max_seq_len"])
    val_set, skipped_val = tokenize_all(tokenizer, val_samples, cfg["data"]["max_seq_len"])
    if not train_set or not val_set:
        raise InvalidInput("no sample keeps an assistant token after truncation; raise data.max_seq_len")

    # 6b. Model + LoRA (resuming loads the checkpoint's adapter weights).
    resume_from = checkpoint_dirs(cfg["output_dir"])[-1] if args.resume and checkpoint_dirs(cfg["output_dir"]) else None
    if args.resume and resume_from is None:
        print("--resume: no complete checkpoint yet; starting from step 0", file=sys.stderr, flush=True)
    model = load_base_model(cfg, torch, transformers, accelerator)
    model.config.use_cache = False  # the KV cache is useless in training and clashes with checkpointing
    if cfg["quantization"] != "none":
        model = peft.prepare_model_for_kbit_training(model, use_gradient_checkpointing=t["gradient_checkpointing"],
                                                     gradient_checkpointing_kwargs={"use_reentrant": False})
    elif t["gradient_checkpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    if resume_from:
        model = peft.PeftModel.from_pretrained(model, os.path.join(resume_from, "adapter"), is_trainable=True)
    else:
        lora = cfg["lora"]
        model = peft.get_peft_model(model, peft.LoraConfig(
            r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
            target_modules=lora["target_modules"], bias="none", task_type="CAUSAL_LM"))
    for p in model.parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()  # fp32 adapter weights: fp16 loss scaling cannot unscale fp16 grads
    trainable, total_params = model.get_nb_trainable_parameters()

    # 6c. Schedule: optimizer steps = micro-batches per epoch / accumulation × epochs.
    world, rank, bs, ga = accelerator.num_processes, accelerator.process_index, t["per_device_batch_size"], t["gradient_accumulation_steps"]
    micro_per_epoch = len(epoch_order(len(train_set), 0, t["seed"], world, rank, bs))
    steps_per_epoch = math.ceil(micro_per_epoch / ga)
    total_steps = args.max_steps or t["max_steps"] or math.ceil(steps_per_epoch * t["epochs"])
    warmup = t["warmup_steps"] if t["warmup_steps"] is not None else math.ceil(total_steps * t["warmup_ratio"])
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=t["learning_rate"], weight_decay=t["weight_decay"])
    scheduler = transformers.get_scheduler(t["lr_scheduler"] if t["lr_scheduler"] != "constant" else "constant_with_warmup",
                                           optimizer=optimizer, num_warmup_steps=warmup, num_training_steps=total_steps,
                                           scheduler_specific_kwargs={"num_cycles": 2} if t["lr_scheduler"] == "cosine_with_restarts" else None)

    state = {"step": 0, "epoch": 0, "micro_in_epoch": 0, "best_eval_loss": None, "last_eval_loss": None,
             "best_step": None, "bad_evals": 0, "tokens_trained": 0, "train_loss_sum": 0.0, "train_loss_steps": 0}
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    if resume_from:
        # After prepare(): load_state_dict moves the state onto the (now placed) parameters' device.
        optimizer.load_state_dict(torch.load(os.path.join(resume_from, "optimizer.pt"), map_location="cpu"))
        scheduler.load_state_dict(torch.load(os.path.join(resume_from, "scheduler.pt"), map_location="cpu"))
        rng = torch.load(os.path.join(resume_from, "rng.pt"), map_location="cpu", weights_only=False)
        random.setstate(rng["python"])
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(rng["cuda"])
        with open(os.path.join(resume_from, "trainer_state.json")) as f:
            state.update(json.load(f))

    mine = val_set[rank::world] or val_set[:1]  # fewer validation samples than processes: reuse one
    val_batches = [mine[i : i + bs] for i in range(0, len(mine), bs)]

    emit("start", protocol=PROTOCOL_VERSION, run_name=cfg["run_name"], base_model=cfg["base_model"],
         total_steps=total_steps, steps_per_epoch=steps_per_epoch, resumed_from_step=state["step"],
         resumed_from=resume_from, train_samples=len(train_set), val_samples=len(val_set),
         skipped_samples=skipped_train + skipped_val, trainable_params=trainable, total_params=total_params,
         num_processes=world, device=str(accelerator.device), dataset_hash=data_hash)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    # 6d. The loop. One iteration = one optimizer step over `ga` micro-batches.
    session_start, session_start_step, session_start_tokens = time.time(), state["step"], state["tokens_trained"]
    window = {"loss": 0.0, "steps": 0, "tokens": 0, "since": time.time()}
    stop_reason = "completed"
    while state["step"] < total_steps:
        batches = epoch_order(len(train_set), state["epoch"], t["seed"], world, rank, bs)
        if state["micro_in_epoch"] >= len(batches):
            state["epoch"] += 1
            state["micro_in_epoch"] = 0
            continue
        group = batches[state["micro_in_epoch"] : state["micro_in_epoch"] + ga]
        step_loss = torch.zeros((), device=accelerator.device)
        step_tokens = 0
        for i, indices in enumerate(group):
            batch = {k: v.to(accelerator.device) for k, v in collate([train_set[j] for j in indices], pad_id, torch).items()}
            # Gradients are all-reduced only on the last micro-batch of the step.
            sync = i == len(group) - 1
            with (nullcontext() if sync else accelerator.no_sync(model)), accelerator.autocast():
                loss = model(**batch).loss / len(group)
            accelerator.backward(loss)
            step_loss += loss.detach()
            step_tokens += int(batch["attention_mask"].sum())
        accelerator.clip_grad_norm_(params, t["max_grad_norm"])
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        state["micro_in_epoch"] += len(group)

        step_loss = accelerator.reduce(step_loss, reduction="mean").item()
        tokens = int(accelerator.reduce(torch.tensor(step_tokens, device=accelerator.device), reduction="sum").item())
        state["tokens_trained"] += tokens
        state["train_loss_sum"] += step_loss
        state["train_loss_steps"] += 1
        window["loss"] += step_loss
        window["steps"] += 1
        window["tokens"] += tokens

        # Evaluation and early stopping on validation loss.
        if state["step"] % cfg["eval"]["every_steps"] == 0 or state["step"] == total_steps:
            eval_loss = evaluate(model, val_batches, pad_id, accelerator, torch)
            state["last_eval_loss"] = eval_loss
            best = state["best_eval_loss"]
            if best is None or eval_loss < best - cfg["eval"]["early_stopping_min_delta"]:
                state["best_eval_loss"], state["best_step"], state["bad_evals"] = eval_loss, state["step"], 0
                save_adapter(accelerator, model, os.path.join(cfg["output_dir"], "best"))
            else:
                state["bad_evals"] += 1
            patience = cfg["eval"]["early_stopping_patience"]
            emit("eval", step=state["step"], eval_loss=eval_loss, best_eval_loss=state["best_eval_loss"],
                 patience_left=None if patience == 0 else patience - state["bad_evals"])
            if patience and state["bad_evals"] >= patience:
                stop_reason = "early_stopped"

        if state["step"] % cfg["logging"]["every_steps"] == 0 or state["step"] == total_steps or stop_reason != "completed":
            elapsed = time.time() - window["since"]
            per_step = (time.time() - session_start) / max(1, state["step"] - session_start_step)
            emit("log", step=state["step"], total_steps=total_steps,
                 epoch=round(state["step"] / steps_per_epoch, 4), loss=window["loss"] / max(1, window["steps"]),
                 eval_loss=state["last_eval_loss"], lr=scheduler.get_last_lr()[0],
                 tokens_per_s=round(window["tokens"] / elapsed, 1) if elapsed > 0 else None,
                 eta_s=round(per_step * (total_steps - state["step"]), 1))
            window = {"loss": 0.0, "steps": 0, "tokens": 0, "since": time.time()}

        # A stop request seen by any process stops all of them at the same step.
        stop = accelerator.reduce(torch.tensor(1.0 if STOP_REQUESTED else 0.0, device=accelerator.device), reduction="sum").item() > 0
        if stop:
            path = save_checkpoint(accelerator, model, optimizer, scheduler, state, cfg, torch)
            emit("interrupted", step=state["step"], checkpoint=path)
            return EXIT_INTERRUPTED
        if stop_reason != "completed":
            break
        if state["step"] % cfg["checkpoint"]["every_steps"] == 0 and state["step"] < total_steps:
            save_checkpoint(accelerator, model, optimizer, scheduler, state, cfg, torch)

    # 6e. The adapter: the best validation checkpoint (else the last weights), PEFT format.
    adapter_dir = os.path.join(cfg["output_dir"], "adapter")
    best_dir = os.path.join(cfg["output_dir"], "best")
    if accelerator.is_main_process:
        shutil.rmtree(adapter_dir, ignore_errors=True)
    accelerator.wait_for_everyone()
    if os.path.isdir(best_dir):
        if accelerator.is_main_process:
            shutil.copytree(best_dir, adapter_dir)
    else:
        save_adapter(accelerator, model, adapter_dir)
    accelerator.wait_for_everyone()

    summary = {
        "protocol": PROTOCOL_VERSION,
        "status": stop_reason,
        "run_name": cfg["run_name"],
        "base_model": cfg["base_model"],
        "dataset_hash": data_hash,
        "steps": state["step"],
        "total_steps": total_steps,
        "epochs": round(state["step"] / steps_per_epoch, 4),
        "train_loss": state["train_loss_sum"] / max(1, state["train_loss_steps"]),
        "final_eval_loss": state["last_eval_loss"],
        "best_eval_loss": state["best_eval_loss"],
        "best_step": state["best_step"],
        "early_stopped": stop_reason == "early_stopped",
        "tokens_trained": state["tokens_trained"],
        "train_samples": len(train_set),
        "val_samples": len(val_set),
        "skipped_samples": skipped_train + skipped_val,
        "trainable_params": trainable,
        "runtime_s": round(time.time() - started, 1),
        "peak_memory_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None,
        "num_processes": world,
        "adapter_dir": adapter_dir,
        "merged_dir": None,
        "seed": t["seed"],
        # this attempt's tokens over its wall time, evaluation included (what the planner predicts).
        "tokens_per_s": round((state["tokens_trained"] - session_start_tokens) / max(1e-9, time.time() - session_start), 1),
        "versions": environment(torch, transformers, peft, accelerate),
    }

    # 6f. Optional merge into the base weights (single-adapter serving without LoRA support).
    if cfg["merge"]["enabled"]:
        del model, optimizer
        accelerator.free_memory()
        if accelerator.is_main_process:
            merged_dir = cfg["merge"]["output_dir"] or os.path.join(cfg["output_dir"], "merged")
            base = load_base_model(cfg, torch, transformers, accelerator, for_training=False)
            merged = peft.PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
            merged.save_pretrained(merged_dir, safe_serialization=True)
            tokenizer.save_pretrained(merged_dir)
            summary["merged_dir"] = merged_dir
            emit("merged", path=merged_dir)
        accelerator.wait_for_everyone()

    if accelerator.is_main_process:
        metadata = {"run_name": cfg["run_name"], "base_model": cfg["base_model"], "dataset_hash": data_hash,
                    "hyperparameters": {"lora": cfg["lora"], "quantization": cfg["quantization"], "training": t,
                                        "max_seq_len": cfg["data"]["max_seq_len"]},
                    "metrics": {k: summary[k] for k in ("steps", "epochs", "train_loss", "final_eval_loss", "best_eval_loss", "best_step", "early_stopped", "tokens_trained")},
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "versions": summary["versions"], "metadata": cfg["metadata"]}
        with open(os.path.join(adapter_dir, "run_metadata.json"), "w") as f:
            json.dump(metadata, f, indent=2, ensure_ascii=False)
        with open(os.path.join(cfg["output_dir"], "summary.json"), "w") as f:
            json.dump(summary, f, indent=2, ensure_ascii=False)
    emit("summary", **summary)
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# 7. Entry point
# --------------------------------------------------------------------------------------------

def resolve_base_model(name, base_dir):
    """A path ("./m", "/m", "~/m", or an existing folder next to the config) or a hub id ("org/name")."""
    if name.startswith((".", "/", "~")):
        path = os.path.join(base_dir, os.path.expanduser(name))
        if not os.path.isdir(path):
            raise InvalidInput(f"base_model: local folder {path} does not exist")
        return path
    nearby = os.path.join(base_dir, name)
    return nearby if os.path.isdir(nearby) else name


def parse_args(argv):
    p = argparse.ArgumentParser(description="Train a LoRA adapter from a kb run config (see module docstring).")
    p.add_argument("--config", required=True, help="run config JSON written by `kb finetune train`")
    p.add_argument("--validate-only", "--dry-run", dest="validate_only", action="store_true",
                   help="validate the config and the data files, then exit (needs no torch)")
    p.add_argument("--resume", action="store_true", help="continue from the latest complete checkpoint in output_dir")
    p.add_argument("--max-steps", type=int, default=None, help="override training.max_steps")
    args = p.parse_args(argv)
    if args.max_steps is not None and args.max_steps < 1:
        p.error("--max-steps must be ≥ 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        try:
            with open(args.config, "r", encoding="utf-8") as f:
                raw = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise InvalidInput(f"{args.config}: cannot read config: {e}")
        cfg, errors = validate_config(raw)
        if errors:
            raise InvalidInput("invalid run config:\n  " + "\n  ".join(errors))
        base_dir = os.path.dirname(os.path.abspath(args.config))
        for key in ("train", "val"):  # relative data paths are relative to the config file
            cfg["data"][key] = os.path.join(base_dir, cfg["data"][key])
        cfg["output_dir"] = os.path.join(base_dir, cfg["output_dir"])
        if cfg["merge"]["output_dir"]:
            cfg["merge"]["output_dir"] = os.path.join(base_dir, cfg["merge"]["output_dir"])
        cfg["base_model"] = resolve_base_model(cfg["base_model"], base_dir)
        train_samples = read_chat_jsonl(cfg["data"]["train"])
        val_samples = read_chat_jsonl(cfg["data"]["val"])
        data_hash = dataset_hash([cfg["data"]["train"], cfg["data"]["val"]])
        if args.validate_only:
            emit("validated", protocol=PROTOCOL_VERSION, run_name=cfg["run_name"], base_model=cfg["base_model"],
                 train_samples=len(train_samples), val_samples=len(val_samples), dataset_hash=data_hash,
                 output_dir=cfg["output_dir"])
            return EXIT_OK
        if not args.resume and checkpoint_dirs(cfg["output_dir"]):
            raise InvalidInput(f"{cfg['output_dir']} already holds checkpoints: pass --resume to continue that run")
        os.makedirs(cfg["output_dir"], exist_ok=True)
        return train(cfg, args, data_hash, train_samples, val_samples)
    except KeyboardInterrupt:
        # Ctrl-C before the training loop installed its handler (e.g. while loading the model).
        emit("interrupted", step=None, checkpoint=None)
        print("interrupted before training started; nothing to checkpoint", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except InvalidInput as e:
        emit("error", kind="invalid_input", message=str(e))
        print(f"error: {e}", file=sys.stderr, flush=True)
        return EXIT_INVALID
    except ImportError as e:
        msg = (f"{e}. Set up the trainer's environment: finetune/train/setup-venv.sh, or pip install -r "
               "finetune/train/requirements.txt (plus bitsandbytes for QLoRA) into this interpreter")
        emit("error", kind="missing_dependency", message=msg)
        print(f"error: {msg}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    except Exception as e:  # noqa: BLE001 — reported to the orchestrator, then re-raised for the traceback
        emit("error", kind=type(e).__name__, message=str(e)[:4000])
        raise


if __name__ == "__main__":
    sys.exit(main())
