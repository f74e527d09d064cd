"""``release-console [serve|worker|demo]``: the console, a standalone worker, or the demo driver."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys

from loguru import logger
from pydantic import ValidationError

from .accounts.first_admin import StartupError, require_first_admin_password
from .core.config import SecretFileError, Settings, get_settings
from .runtime.audit import install_stderr_sink
from .temporal.embedded import port_in_use
from .temporal.search_attributes import register_search_attributes


def _settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            print(f"release-console: configuration error: {where}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def _testing() -> bool:
    return "NICEGUI_USER_SIMULATION" in os.environ or "NICEGUI_SCREEN_TEST_PORT" in os.environ


def serve() -> None:
    """Start the console (and, with no TEMPORAL_ADDRESS, an embedded Temporal dev server); exit code 1 when start-up
    fails for good (everything it started is stopped first)."""
    from . import services as services_module
    from .app import setup
    from .runtime.audit import install_stderr_sink

    install_stderr_sink()  # first: loguru's default handler prints a traceback's local variables (secrets)
    settings = _settings_or_exit()
    try:
        require_first_admin_password(settings)  # before anything starts: no Temporal, no worker, no port
        settings.secret_key()  # a generated key file that is too short stops here, with its own message
    except (StartupError, SecretFileError) as exc:
        print(f"release-console: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if not _testing() and port_in_use(settings.PORT):
        print(
            f"release-console: port {settings.PORT} is already in use; "
            "stop whatever uses it or set PORT to a free port",
            file=sys.stderr,
        )
        raise SystemExit(1)
    if not _testing() and settings.embedded:
        _refuse_busy_embedded_ports(settings)
    setup(settings, exit_on_failure=not _testing())
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after its graceful shutdown
        _run(settings)
    if not _testing() and (failure := services_module.startup_failure()) is not None:
        print(f"release-console: start-up failed: {failure}", file=sys.stderr)
        raise SystemExit(1)


def _run(settings: Settings) -> None:
    from nicegui import app, ui

    from .ui.auth import session_middleware_kwargs

    # Quasar's thin bar at the top while a request runs is a progress bar too: screen readers get a name for it
    app.config.quasar_config.setdefault("loadingBar", {})["aria-label"] = "Loading"
    ui.run(
        host=settings.HOST,
        port=settings.PORT,
        title="Release Console",
        language="en-US",  # Quasar's texts and the pages' <html lang>, which screen readers speak by
        favicon="🚀",
        reload=False,
        show=False,
        dark=None,
        storage_secret=settings.secret_key(),
        session_middleware_kwargs=session_middleware_kwargs(settings),
        show_welcome_message=not _testing(),
        proxy_headers=False,  # X-Forwarded-For is believed only through TRUSTED_PROXIES (runtime/client_ip.py)
        timeout_graceful_shutdown=settings.SHUTDOWN_GRACE_SECONDS,  # after SIGTERM's drain (runtime/drain.py)
        access_log=False,  # the audit log and /metrics record every request; uvicorn's line cost ~5% of a call
        # Page sockets without per-message deflate: each would hold its own ~300 KiB zlib state and compress every
        # live message again; the messages are small JSON (ui/live), and a crowd of tabs is the case that matters.
        ws_per_message_deflate=False,
    )


def _refuse_busy_embedded_ports(settings: Settings) -> None:
    port = settings.EMBEDDED_TEMPORAL_PORT
    for busy in [p for p in (port, port + 1000 if settings.EMBEDDED_TEMPORAL_UI else None) if p and port_in_use(p)]:
        print(
            f"release-console: port {busy} is already in use, so the embedded Temporal server cannot start; "
            "set EMBEDDED_TEMPORAL_PORT to a free port, or TEMPORAL_ADDRESS to use a running Temporal",
            file=sys.stderr,
        )
        raise SystemExit(1)


async def _worker(settings: Settings) -> None:
    from .temporal.client import connect
    from .temporal.worker import build_worker

    client = await connect(settings)
    await register_search_attributes(client, settings.TEMPORAL_RPC_TIMEOUT_SECONDS)  # the workflow upserts them
    logger.info("worker polling task queue {} on {}", settings.TEMPORAL_TASK_QUEUE, settings.temporal_address)
    await build_worker(client, settings).run()


async def _demo(settings: Settings) -> None:
    from .demo import run_demo
    from .temporal.client import connect

    client = await connect(settings)
    await register_search_attributes(client, settings.TEMPORAL_RPC_TIMEOUT_SECONDS)  # its releases upsert them
    await run_demo(client, settings)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``release-console`` script."""
    parser = argparse.ArgumentParser(prog="release-console", description=__doc__)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "worker", "demo"])
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve()
        return
    install_stderr_sink()  # no traceback's local variables in the worker's or the demo's log either
    settings = _settings_or_exit()
    runner = _worker if args.command == "worker" else _demo
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner(settings))
