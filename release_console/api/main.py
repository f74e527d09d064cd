"""The /api/v1 router: every resource's routes in one place."""

from __future__ import annotations

from fastapi import APIRouter

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
# --- routes (issue 3 and 4) ---
