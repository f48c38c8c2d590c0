#!/usr/bin/env bash
# Creates (or updates) the trainer's virtual environment: .venv-trainer/ at the repository root,
# with finetune/train/requirements.txt. Idempotent: a second run with nothing to change takes a
# few seconds. The tests that run the real trainer use it when present and skip, naming this
# script, when it is absent.
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
  exit 0
fi
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
