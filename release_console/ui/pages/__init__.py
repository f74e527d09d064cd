"""Page routers; app.setup includes every router listed in ``routers()``."""

from __future__ import annotations

from nicegui import APIRouter


def routers() -> list[APIRouter]:
    """All page routers (imported here so main.py re-registers them on every start)."""
    from . import admin_audit, admin_users, api_keys, downloads, login, notifications, release, releases, sso

    return [login.router, releases.router, release.router, admin_users.router, admin_audit.router, api_keys.router,
            downloads.router, sso.router, notifications.router]
