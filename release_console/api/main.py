"""The /api/v1 routes: every resource's router, in the order their paths are matched."""

from __future__ import annotations

from fastapi import APIRouter

from ..core.config import API_PREFIX
from .routes import api_keys, entities, events, health, login, notifications, releases, timeline, users
from .routes import audit as audit_routes

RESOURCE_ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    events.router,  # before releases: its catch-all path route must come last
    timeline.router,  # likewise
    releases.router,
    entities.router,
    login.router,
    users.router,
    api_keys.router,
    notifications.router,
    audit_routes.router,
)
"""What the API app serves, each included under API_PREFIX on its own: FastAPI matches a request against every
router on its way down, twice per level of nesting, so the serving app keeps one level."""

api_router = APIRouter(prefix=API_PREFIX)
"""The same routes as one router: what the OpenAPI schema is built from."""
for _router in RESOURCE_ROUTERS:
    api_router.include_router(_router)
