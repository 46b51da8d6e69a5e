#!/usr/bin/env bash
# OCR for scanned PDFs (ingest/ocr.py): Debian's tesseract with the Task Force languages' packs and
# poppler's pdftoppm, installed only when missing. `--required` (the tests): a failure is an error.
# Without it (install, serve): a failure only disables OCR, with one line saying so.
set -uo pipefail
PACKAGES="tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-swe tesseract-ocr-nor tesseract-ocr-dan
 tesseract-ocr-fin tesseract-ocr-est tesseract-ocr-lav tesseract-ocr-lit tesseract-ocr-pol tesseract-ocr-isl poppler-utils"
missing=""
for pkg in $PACKAGES; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
echo "installing Debian packages for OCR:$missing"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if command -v apt-get >/dev/null 2>&1 && $SUDO apt-get update -qq && \
   DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null; then
  exit 0
fi
if [ "${1:-}" = "--required" ]; then
  echo "error: could not install$missing (the OCR tests need them)" >&2
  exit 1
fi
echo "OCR disabled: could not install$missing; scanned PDFs are reported as 'no text layer', not read" >&2
exit 0
