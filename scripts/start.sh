#!/usr/bin/env bash
# Start the console on the embedded default (a local Temporal dev server); Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python main.py "$@"
