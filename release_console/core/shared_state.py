"""State shared by several console instances through Redis (REDIS_URL, else NICEGUI_REDIS_URL; see config.py).

With Redis configured:

- NiceGUI keeps user storage (``app.storage.user``, where ui/auth.py keeps the session) in Redis under
  ``<prefix>user-<session id>``, and every change is published to the other instances (pub/sub), so a session started
  on one instance is valid on another (same SECRET_KEY: the same signed session cookie) and a logout ends it on all;
- the login throttle (accounts/throttle.py) counts failures in Redis, so every instance sees every failure;
- login tickets (ui/auth.py) are kept in Redis too, so the step after a login may reach another instance.

Every key starts with ``key_prefix()``: NICEGUI_REDIS_KEY_PREFIX if set, else ``release-console:``. Without Redis
nothing changes: one process keeps sessions in NiceGUI's storage files and the throttle in memory.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import redis
import redis.asyncio as redis_async
from loguru import logger
from redis.backoff import NoBackoff
from redis.retry import Retry

from .config import Settings

DEFAULT_KEY_PREFIX = "release-console:"
CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 1.0
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
