#!/usr/bin/env bash
# Run the whole suite (lint, types, unit, integration against a real Temporal dev server, browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check release_console tests examples benchmarks scripts main.py
# Types ([tool.mypy] in pyproject.toml): ~30 s from scratch, under a second from its cache (.mypy_cache, ignored)
.venv/bin/mypy
# One worker per core, at most 4 (each starts its own Temporal dev server, console and browser), a test file per
# worker at a time (module fixtures stay on one worker); `-n 0` after it runs everything in this process.
exec .venv/bin/python -m pytest --numprocesses=auto --maxprocesses=4 --dist=loadfile "$@"
