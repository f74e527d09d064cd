#!/usr/bin/env bash
# Run the whole suite (lint, types, unit, integration against a real Temporal dev server, browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check release_console tests examples benchmarks scripts main.py
# Types ([tool.mypy] in pyproject.toml): ~30 s from scratch, under a second from its cache (.mypy_cache, ignored)
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
