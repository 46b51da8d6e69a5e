#!/usr/bin/env bash
# Create .venv (or reuse it) and install thb-research with everything it needs.
# torch goes first, pinned: the CPU wheel is on disk, anything else pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${THB_VENV:-.venv}
extras=${1:-}
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
if [ -n "$extras" ]; then
  "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"
else
  "$VENV/bin/python" -m pip install --quiet -e .
fi
bash scripts/install-ocr.sh || true  # tesseract + language packs, when missing; never fatal here
echo "installed: $("$VENV/bin/thb" --version 2>/dev/null || echo thb) in $VENV"
