"""Assemble the NiceGUI app: REST API, pages and the services' lifecycle.

Called from main.py on every start (NiceGUI's test fixtures re-run main.py for each test).
"""

from __future__ import annotations

from nicegui import app

from . import services as services_module
from .api.main import api_router
from .core.config import Settings
from .services import Services
from .ui.pages import routers as page_routers


def setup(settings: Settings) -> None:
    """Register routes, pages and start/stop hooks on the global NiceGUI app."""
    app.include_router(api_router)
    for router in page_routers():
        app.include_router(router)

    async def startup() -> None:
        services = Services(settings)
        services_module.install(services)
        await services.start()

    async def shutdown() -> None:
        try:
            await services_module.current().stop()
        finally:
            services_module.install(None)

    app.on_startup(startup)
    app.on_shutdown(shutdown)
