"""The /api/v1 router: every resource's routes in one place."""

from __future__ import annotations

from fastapi import APIRouter

from ..core.config import API_PREFIX
from .routes import audit as audit_routes
from .routes import entities, events, health, login, releases, timeline, users

api_router = APIRouter(prefix=API_PREFIX)
api_router.include_router(health.router)
api_router.include_router(events.router)  # before releases: its catch-all path route must come last
api_router.include_router(timeline.router)  # likewise
api_router.include_router(releases.router)
api_router.include_router(entities.router)
api_router.include_router(login.router)
api_router.include_router(users.router)
api_router.include_router(audit_routes.router)
