"""State shared by several console instances through Redis (REDIS_URL, else NICEGUI_REDIS_URL; see config.py).

With Redis configured:

- user storage (``app.storage.user``, where ui/auth.py keeps the session) is a signed record in Redis under
  ``<prefix>user-<session id>`` (ui/shared_storage.py), so a session started on one instance is valid on another
  (same SECRET_KEY: the same signed session cookie) and a logout ends it on all;
- the login throttle (accounts/throttle.py) counts failures in Redis, so every instance sees every failure;
- login tickets (ui/auth.py) are kept in Redis too, so the step after a login may reach another instance.

NiceGUI never forgets a user storage: every browser without a cookie and every login or logout (a new id) adds one
to its registry for good. ``prune_user_storage`` drops those no open page or running request uses, every
PRUNE_SECONDS; their data stays in Redis and the browser's next request loads it again.

Every key starts with ``key_prefix()``: NICEGUI_REDIS_KEY_PREFIX if set, else ``release-console:``. Without Redis
nothing changes: one process keeps sessions in NiceGUI's storage files and the throttle in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from urllib.parse import urlsplit

import redis
import redis.asyncio as redis_async
from loguru import logger
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..core.config import Settings

DEFAULT_KEY_PREFIX = "release-console:"
CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 1.0
PRUNE_SECONDS = 60.0
"""How often unused user storages are closed (a storage is closed when it was unused at two sweeps in a row)."""
ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError, TimeoutError)
"""What a Redis call raises when Redis is unreachable or broken (the callers fall back, never crash)."""


def key_prefix() -> str:
    """Prefix of every Redis key of the console (sessions, throttle, tickets)."""
    return os.environ.get("NICEGUI_REDIS_KEY_PREFIX") or DEFAULT_KEY_PREFIX


def redacted(url: str) -> str:
    """The Redis URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def client(url: str) -> redis_async.Redis:
    """An asyncio client that fails fast: short timeouts and no retries, so a login never waits long for a Redis
    that is down (the throttle then falls back to memory). Connects on first use, in the running event loop."""
    return redis_async.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=10,
    )


def configure_storage(settings: Settings) -> None:
    """Point NiceGUI's user storage at Redis when ``settings.redis_url`` is set, else at its files (the default);
    called before the server starts (app.setup). Checks once that Redis answers and logs a clear error if not."""
    from nicegui.storage import Storage

    url = settings.redis_url
    Storage.redis_url = url  # also resets a value left by an earlier setup in the same process (tests)
    if not url:
        return
    Storage.redis_key_prefix = key_prefix()
    _unused.clear()
    from nicegui import app

    app.on_startup(_start_pruning)
    started = time.monotonic()
    try:
        with redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as sync_client:
            sync_client.ping()
    except ERRORS as exc:
        logger.error(
            "Redis at {} is unreachable ({}): sessions are kept in this process's memory only (lost at restart, not "
            "seen by other instances) and the login throttle counts per instance until Redis answers",
            redacted(url), type(exc).__name__,
        )
    else:
        logger.info("shared state in Redis at {} (key prefix {!r}, ping {:.0f} ms)", redacted(url),
                    Storage.redis_key_prefix, (time.monotonic() - started) * 1000)


async def written(storage: object, timeout: float = 1.0) -> None:
    """Wait (at most ``timeout``) until the writes NiceGUI queued for a Redis user storage reached Redis, so a
    browser's next request finds them on any instance; returns at once for file storage."""
    from nicegui import background_tasks
    from nicegui.persistence import RedisPersistentDict

    if not isinstance(storage, RedisPersistentDict):
        return
    name = f"redis-{storage.key}"  # nicegui.persistence.redis_persistent_dict: one lazy task per key
    deadline = time.monotonic() + timeout
    while (task := background_tasks.lazy_tasks_running.get(name)) is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), remaining)
        except TimeoutError:
            return
        except Exception:  # NiceGUI logs the failed write itself
            pass


_unused: set[str] = set()  # session ids whose storage was unused at the last sweep


def _sessions_in_use() -> set[str]:
    """Session ids of running requests and of pages still open in this instance."""
    from nicegui import Client, app

    used = {str(session_id) for session_id in app.storage._active_request_sessions}
    for client in list(Client.instances.values()):
        request = client.request
        if request is not None and "session" in request.scope:
            used.add(str(request.session.get("id", "")))
    return used


async def prune_user_storage() -> int:
    """Close the Redis user storages that were unused at this sweep and the one before; the number closed.

    Storages with a write still on its way to Redis are kept for the next sweep. Uses NiceGUI's storage registry
    (``app.storage._users``, nicegui.storage), as ui/auth.py does; there is no public API for it.
    """
    from nicegui import app, background_tasks
    from nicegui.persistence import RedisPersistentDict

    used = _sessions_in_use()
    closed = 0
    for session_id, storage in list(app.storage._users.items()):
        if session_id in used or not isinstance(storage, RedisPersistentDict):
            _unused.discard(session_id)
            continue
        writing = {f"redis-{storage.key}", f"redis-delete-{storage.key}"} & set(background_tasks.lazy_tasks_running)
        if session_id not in _unused or writing or getattr(storage, "dirty", False):
            _unused.add(session_id)
            continue
        _unused.discard(session_id)
        if app.storage._users.get(session_id) is storage:
            del app.storage._users[session_id]  # a request from this browser now loads it again from Redis
        with contextlib.suppress(Exception):
            await storage.close()
        closed += 1
    _unused.intersection_update(app.storage._users)
    return closed


def _start_pruning() -> None:
    from nicegui import background_tasks

    async def sweep() -> None:
        while True:
            await asyncio.sleep(PRUNE_SECONDS)
            try:
                closed = await prune_user_storage()
            except Exception as exc:  # never stop sweeping
                logger.warning("closing unused user storages failed: {}", exc)
            else:
                if closed:
                    logger.debug("closed {} unused user storages", closed)

    background_tasks.create(sweep(), name="prune user storage")
