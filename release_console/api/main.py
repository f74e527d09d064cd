"""The /api/v1 router: every resource's routes in one place."""

from __future__ import annotations

from fastapi import APIRouter

from .prefix import API_PREFIX

api_router = APIRouter(prefix=API_PREFIX)
# --- routes (issue 3 and 4) ---
from .routes import entities, events, health, releases, timeline  # noqa: E402

api_router.include_router(health.router)
api_router.include_router(events.router)  # before releases: its catch-all path route must come last
api_router.include_router(timeline.router)  # likewise
api_router.include_router(releases.router)
api_router.include_router(entities.router)
from .routes import audit as audit_routes  # noqa: E402
from .routes import login, users  # noqa: E402

api_router.include_router(login.router)
api_router.include_router(users.router)
api_router.include_router(audit_routes.router)
