#!/usr/bin/env bash
# Run the whole suite (lint, unit, integration against a real Temporal dev server, browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check release_console tests examples benchmarks scripts main.py
exec .venv/bin/python -m pytest "$@"
