"""How much one query or update may carry: page sizes and the byte budgets that keep results plain JSON."""

from __future__ import annotations

MAX_CHILDREN_PAGE = 1000
MAX_SNAPSHOT_PAGE = 4000
MAX_CHANGES_PAGE = 2000
MAX_BATCH_TRANSITIONS = 1000
MAX_SUMMARY_WAVES = 200
RESULT_BYTES_BUDGET = 192 * 1024
"""Pages (children, snapshot, changes) end early once their JSON reaches about this size, so every result stays
plain JSON (below the codec's compression threshold) and far below Temporal's limits, whatever the ids' length."""
SNAPSHOT_BYTES_BUDGET = 240 * 1024
"""Snapshot pages, whose row sizes are counted exactly, may fill up to this (still below the 256 KiB threshold):
fewer, larger pages make a cold load of a big release faster."""
