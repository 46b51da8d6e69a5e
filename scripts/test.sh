#!/usr/bin/env bash
# Install everything (with the test and ray extras, Debian's chromium for the browser tests and tesseract for OCR), run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test,ray
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
bash scripts/install-ocr.sh --required  # tesseract packs + pdftoppm for the OCR tests, when missing
exec .venv/bin/python -m pytest "$@"
