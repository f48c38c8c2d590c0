#!/usr/bin/env python3
"""Merge a LoRA adapter into its base weights and save 16-bit safetensors (`kb finetune export
--format merged`, also the input of the GGUF conversion): serving without runtime LoRA (vLLM,
TGI, llama.cpp/Ollama after conversion).

    python3 export.py --adapter DIR --base PATH_OR_ID --out DIR [--dtype bf16|fp16] [--trust-remote-code]

Protocol (stdout, JSON lines like train_lora.py):
    {"event":"merged", "path", "dtype", "params", "files"}
    {"event":"error", "kind", "message"}      exit 2 (invalid input) or 1
"""

import argparse
import json
import os
import shutil
import sys


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}, ensure_ascii=False, default=str), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--adapter", required=True)
    p.add_argument("--base", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--dtype", choices=("bf16", "fp16"), default="bf16")
    p.add_argument("--trust-remote-code", action="store_true")
    a = p.parse_args(argv)
    if not os.path.isfile(os.path.join(a.adapter, "adapter_config.json")):
        emit("error", kind="invalid_input", message=f"{a.adapter}: not a PEFT adapter (no adapter_config.json)")
        return 2
    try:
        import torch
        import transformers
        import peft
    except ImportError as e:
        emit("error", kind="missing_dependency", message=f"{e}. Set up the trainer's environment: finetune/train/setup-venv.sh")
        return 1
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[a.dtype]
    version = tuple(int(x) for x in transformers.__version__.split(".")[:2] if x.isdigit())
    kwargs = {"trust_remote_code": a.trust_remote_code, ("dtype" if version >= (4, 56) else "torch_dtype"): dtype}
    # Merged on the CPU: the GPU host may be busy serving, and merging needs no accelerator.
    base = transformers.AutoModelForCausalLM.from_pretrained(a.base, **kwargs)
    merged = peft.PeftModel.from_pretrained(base, a.adapter).merge_and_unload()
    tmp = a.out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp, safe_serialization=True)
    # The tokenizer (and with it the chat template) travels with the weights: the adapter folder
    # has it when train_lora.py saved it there, else the base model's.
    tok_src = a.adapter if os.path.isfile(os.path.join(a.adapter, "tokenizer_config.json")) else a.base
    transformers.AutoTokenizer.from_pretrained(tok_src, trust_remote_code=a.trust_remote_code).save_pretrained(tmp)
    shutil.rmtree(a.out, ignore_errors=True)
    os.replace(tmp, a.out)
    emit("merged", path=a.out, dtype=a.dtype, params=sum(x.numel() for x in merged.parameters()), files=sorted(os.listdir(a.out)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 — reported, then re-raised for the traceback
        emit("error", kind=type(e).__name__, message=str(e)[:4000])
        raise
