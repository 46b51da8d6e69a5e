#!/usr/bin/env bash
# The main job: install, index the bundled corpus (incremental), serve the app on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/thb serve --ingest corpus/documents "$@"
