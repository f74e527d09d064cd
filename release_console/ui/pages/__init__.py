"""Page routers; app.setup includes every router listed in ``routers()``."""

from __future__ import annotations

from nicegui import APIRouter


def routers() -> list[APIRouter]:
    """All page routers (imported here so main.py re-registers them on every start)."""
    # --- page routers (issue 3 and 5) ---
    return []
