#!/usr/bin/env bash
# Creates (or updates) the trainer's virtual environment: .venv-trainer/ at the repository root,
# with finetune/train/requirements.txt. Idempotent: a second run with nothing to change takes a
# few seconds. The tests that run the real trainer use it when present and skip, naming this
# script, when it is absent.
#
# It also puts llama.cpp's GGUF converters (kb finetune export --format gguf|adapter-gguf) into
# <venv>/llama.cpp/, see the end of this script; KB_TRAINER_LLAMA_CPP=0 leaves them out.
#
#   finetune/train/setup-venv.sh            # python3.11 (or $KB_TRAINER_PYTHON) → .venv-trainer
#   KB_TRAINER_VENV=/opt/kb-venv finetune/train/setup-venv.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${KB_TRAINER_VENV:-$root/.venv-trainer}"
python="${KB_TRAINER_PYTHON:-$(command -v python3.11 || command -v python3)}"
req="$root/finetune/train/requirements.txt"

if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv with $python ($("$python" --version 2>&1))"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "trainer environment $venv is up to date"
else
  # torch first and alone, pinned: pip then takes the local CPU wheel where one is provided, and
  # the other packages find their torch requirement already satisfied (no CUDA build is pulled).
  torch_pin="$(grep -E '^torch==' "$req")"
  "$venv/bin/python" -m pip install --quiet "$torch_pin"
  "$venv/bin/python" -m pip install --quiet -r "$req"
  "$venv/bin/python" - <<'PY'
import torch, transformers, peft, accelerate, optuna
print(f"trainer environment ready: torch {torch.__version__}, transformers {transformers.__version__}, "
      f"peft {peft.__version__}, accelerate {accelerate.__version__}, optuna {optuna.__version__}")
PY
  echo "$want" > "$stamp"
fi

# llama.cpp's GGUF converters. They are scripts in the llama.cpp tree, not a pip package; PyPI's
# llama-cpp-python sdist vendors that tree (vendor/llama.cpp), so pip fetches it -- pinned and
# hash-checked, no compiler involved -- and only what the converters import is kept:
# convert_hf_to_gguf.py, convert_lora_to_gguf.py, their conversion/ package and gguf-py/gguf
# (the converters put their own gguf-py first on sys.path, so reader and writer always match).
# Their third-party imports (torch, transformers, numpy, sentencepiece, pyyaml) come with
# requirements.txt. A host with its own llama.cpp checkout passes --llama-cpp or sets
# LLAMA_CPP_DIR, which kb prefers over this copy. SOURCE in the folder records the origin and
# doubles as the stamp: a rerun with the same pin does nothing.
llama_pin="llama-cpp-python==0.3.36"
llama_sha256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
llama_dir="$venv/llama.cpp"
llama_want="$llama_pin sha256:$llama_sha256"
if [ "${KB_TRAINER_LLAMA_CPP:-1}" = 0 ]; then
  echo "llama.cpp converters skipped (KB_TRAINER_LLAMA_CPP=0)"
elif [ -f "$llama_dir/SOURCE" ] && [ "$(head -n1 "$llama_dir/SOURCE")" = "$llama_want" ]; then
  echo "llama.cpp converters in $llama_dir are up to date"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "$llama_pin --hash=sha256:$llama_sha256" > "$tmp/requirements.txt"
  # --no-binary names the one package: pip still prepares the sdist's metadata in an isolated
  # build environment, and ":all:" would make it compile that environment's tools from source.
  "$venv/bin/python" -m pip download --quiet --no-deps --no-binary llama-cpp-python --require-hashes -r "$tmp/requirements.txt" -d "$tmp"
  sdist="$tmp/llama_cpp_python-${llama_pin#*==}.tar.gz"
  top="llama_cpp_python-${llama_pin#*==}/vendor/llama.cpp"
  tar -xzf "$sdist" -C "$tmp" \
    "$top/LICENSE" "$top/convert_hf_to_gguf.py" "$top/convert_lora_to_gguf.py" "$top/conversion" "$top/gguf-py/LICENSE" "$top/gguf-py/gguf"
  # The sdist keeps the submodule's git metadata: its HEAD is the llama.cpp commit vendored.
  commit="$(tar -xzOf "$sdist" "llama_cpp_python-${llama_pin#*==}/.git/modules/vendor/llama.cpp/HEAD" 2>/dev/null || echo unknown)"
  printf '%s\nllama.cpp %s: its GGUF converters, extracted by finetune/train/setup-venv.sh from the %s sdist on PyPI\n' \
    "$llama_want" "$commit" "$llama_pin" > "$tmp/$top/SOURCE"
  # Checks the converters' imports (torch, transformers, gguf, conversion) before installing them.
  "$venv/bin/python" "$tmp/$top/convert_hf_to_gguf.py" --help > /dev/null
  "$venv/bin/python" "$tmp/$top/convert_lora_to_gguf.py" --help > /dev/null
  "$venv/bin/python" -c 'import sentencepiece'
  rm -rf "$llama_dir"
  mv "$tmp/$top" "$llama_dir"
  echo "llama.cpp converters ready in $llama_dir ($(du -sh "$llama_dir" | cut -f1), from $llama_pin)"
fi
