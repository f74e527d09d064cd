"""NiceGUI's storages kept in Redis for several console instances: signed, on one connection pool, no pub/sub.

NiceGUI's own Redis storage gives every session id (and every open tab) its own Redis client and pub/sub
connection, trusts whatever JSON it finds, rewrites the whole session on every keep-alive, and stops following
other instances for good when its pub/sub listener dies. :class:`SharedStorage` replaces it (``install``):

- **Signed.** A user storage is one record ``{"data": …, "mac": …}`` under ``<prefix>user-<session id>``; the MAC
  (HMAC-SHA256, key derived from SECRET_KEY) covers the key, so a record is only valid for its own session id. A
  record that is forged, altered or moved to another id is ignored (the browser is not signed in) and logged.
- **One pool.** Every storage uses the process's one Redis client (the accounts service's). A request that came
  without a session cookie reads nothing from Redis, and nothing is written until something is stored.
- **Expiring.** Records expire SESSION_MAX_AGE_SECONDS after their last write.
- **Activity apart.** The session's ``seen_at`` is kept under ``<prefix>seen-<session id>``: the keep-alive writes
  only that key, never the session record.
- **Revocation.** A session removed from a storage (logout, expiry) leaves ``<prefix>revoked-<session id>`` for
  SESSION_MAX_AGE_SECONDS, and a record is only written while no such marker exists: an instance holding a stale
  copy cannot write a logged-out session back. A write Redis did not take is retried by :func:`follow` until it does.
- **Followed, not pushed.** Instead of pub/sub, the page guard reloads a browser's record on every page request and
  :func:`follow` reloads the records of every open page on this instance with one MGET every ACCOUNTS_REFRESH_SECONDS.

Tab storage (``app.storage.tab``) is not used by the console: tab storages here store nothing anywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import time
from typing import ClassVar

from loguru import logger
from nicegui import Client, app, background_tasks
from nicegui import storage as nicegui_storage
from nicegui.persistence import RedisPersistentDict
from nicegui.persistence.persistent_dict import PersistentDict
from nicegui.storage import Storage
from redis.asyncio import Redis

from .. import services
from ..core.config import Settings
from ..runtime import shared_state

SESSION_KEY = "session"
"""The user-storage entry that holds a signed-in session (ui/auth.py)."""
SESSION_COOKIE = "session"
"""Starlette's session cookie (NiceGUI's session id lives in it)."""
SEEN_FIELD = "seen_at"

_SAVE_LUA = """
if redis.call('EXISTS', KEYS[2]) == 1 and ARGV[3] == '1' then return 0 end
if ARGV[1] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1
"""
"""Write (or delete, for an empty storage) a record; a record holding a session only while it is not revoked."""


MAX_LOGGED = 10_000
UNKNOWN: tuple[str, float | None, bool] = ("?", None, True)
"""What Redis holds after a write that failed (it may have been applied or not)."""
WARN_SECONDS = 60.0


class _State:
    """The settings the storages follow (set by :func:`install`) and the forged records already logged."""

    secret: bytes = b""
    max_age: int = 0
    idle: int = 0
    refresh: float = 2.0
    forged_logged: ClassVar[set[str]] = set()


def configure(settings: Settings) -> None:
    """The signing key and lifetimes the storages use (from the settings)."""
    _State.secret = hashlib.sha256(b"release-console user storage\0" + settings.secret_key().encode()).digest()
    _State.max_age = settings.SESSION_MAX_AGE_SECONDS
    _State.idle = settings.SESSION_IDLE_SECONDS
    _State.refresh = settings.ACCOUNTS_REFRESH_SECONDS


def install(settings: Settings) -> None:
    """With Redis configured, make NiceGUI create :class:`SharedStorage` for user and tab storages."""
    if not settings.redis_url:
        return
    configure(settings)
    # NiceGUI has no public hook for its storage class: its factory is replaced (mypy forbids assigning a method)
    Storage._create_persistent_dict = staticmethod(_create)  # type: ignore[method-assign]
    app.on_startup(lambda: background_tasks.create(follow(), name="follow shared sessions"))


def _create(id: str) -> PersistentDict:
    return SharedStorage(id=id, key_prefix=Storage.redis_key_prefix)


def _redis() -> Redis | None:
    """The process's one Redis client (owned by the accounts service), or None before start-up."""
    try:
        return services.running().accounts.redis
    except services.NotStarted:
        return None


def _mac(key: str, data: str) -> str:
    return hmac.new(_State.secret, f"{key}\0{data}".encode(), hashlib.sha256).hexdigest()


def signed(key: str, data: str) -> str:
    """``data`` (JSON text) in an envelope whose MAC binds it to the Redis ``key`` it is stored under."""
    return json.dumps({"data": data, "mac": _mac(key, data)})


def verified(key: str, raw: bytes | str | None) -> str | None:
    """The data of an envelope stored under ``key``, or None when absent, broken, forged, altered or moved (a forged
    one is logged once, by a digest of its key: keys hold session ids)."""
    if raw is None:
        return None
    try:
        envelope = json.loads(raw)
        data, mac = envelope["data"], envelope["mac"]
        if isinstance(data, str) and isinstance(mac, str) and hmac.compare_digest(mac, _mac(key, data)):
            return data
    except (ValueError, KeyError, TypeError):
        pass
    reference = reference_of(key)
    if reference not in _State.forged_logged:
        if len(_State.forged_logged) > MAX_LOGGED:
            _State.forged_logged.clear()
        _State.forged_logged.add(reference)
        logger.warning("ignored a Redis record ({}): its signature does not match (written without this console's "
                       "SECRET_KEY, altered, or moved from another key)", reference)
    return None


def reference_of(key: str) -> str:
    """A name for a Redis key in logs that does not give away the session id or ticket in it."""
    kind = key.removeprefix(shared_state.key_prefix()).split("-", 1)[0].split(":", 1)[0]
    return f"{kind} {hashlib.sha256(key.encode()).hexdigest()[:12]}"


class SharedStorage(RedisPersistentDict):
    """One NiceGUI storage in Redis as described in the module docstring."""

    def __init__(self, *, id: str, key_prefix: str, redis: Redis | None = None) -> None:
        PersistentDict.__init__(self, data={}, on_change=self.publish)
        self._client = redis
        """A Redis client of its own (tests play a second instance with one), else the process's."""
        self.url = Storage.redis_url or ""
        self.key_prefix = key_prefix
        self.key = key_prefix + id
        self.ttl = None
        self._listener_task = None
        self.stored = id.startswith("user-")
        """False for tab and general storages: the console keeps nothing there."""
        self.session_id = id.removeprefix("user-")
        self.seen_key = f"{key_prefix}seen-{self.session_id}"
        self.revoked_key = f"{key_prefix}revoked-{self.session_id}"
        self._quiet = False
        self._written: tuple[str, float | None, bool] = ("{}", None, False)
        self.changes = 0
        """Local changes so far: a reload whose answer is older than one of them is not applied."""
        """What Redis holds (as far as this instance knows): the record's data, the session's seen_at, and
        whether the record holds a session."""
        self.dirty = False
        """A change Redis has not taken yet (it failed): :func:`follow` retries it."""

    # ---- loading ------------------------------------------------------------------------------------------------
    async def initialize(self) -> None:
        """Load the record, unless the request came without a session cookie (a new browser: nothing stored)."""
        request = nicegui_storage.request_contextvar.get()
        if not self.stored or (request is not None and SESSION_COOKIE not in request.cookies):
            return
        await self.reload()

    def initialize_sync(self) -> None:
        """Nothing is loaded synchronously: the first request loads the record."""

    async def inherit(self, id: str) -> None:
        """Tab storages keep nothing, so there is nothing to take over."""

    async def reload(self) -> None:
        """Read the record, the session's activity and its revocation from Redis (kept as they are if Redis
        fails, or if this storage changed meanwhile: the local change is on its way to Redis and wins)."""
        redis = self.redis
        if redis is None or not self.stored or self.busy:
            return
        changes = self.changes
        try:
            values = await redis.mget(self.redis_keys)
        except shared_state.ERRORS as exc:
            logger.debug("{} not reloaded: {}", reference_of(self.key), type(exc).__name__)
            return
        self.apply(*values, changes=changes)

    @property
    def redis_keys(self) -> list[str]:
        """What :meth:`apply` takes, in its order: the record, the activity, the revocation marker."""
        return [self.key, self.seen_key, self.revoked_key]

    @property
    def redis(self) -> Redis | None:
        return self._client if self._client is not None else _redis()

    @property
    def busy(self) -> bool:
        """A local change is not in Redis yet (being written, or refused and waiting for a retry)."""
        return self.dirty or f"redis-{self.key}" in background_tasks.lazy_tasks_running

    def apply(self, raw: bytes | str | None, seen: bytes | str | None, revoked: bytes | str | None, *,
              changes: int) -> None:
        """Take what Redis holds as this storage's content, unless the storage changed since ``changes`` (read
        before the values were asked for). A forged or broken record counts as none; a session is dropped when
        its revocation marker exists (an old record put back cannot sign anyone in again); the activity key is
        signed too, so nobody can keep a session from idling out."""
        if self.busy or self.changes != changes:
            return
        text = verified(self.key, raw)
        try:
            data = json.loads(text) if text is not None else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if revoked is not None:
            data.pop(SESSION_KEY, None)
        session = data.get(SESSION_KEY)
        seen_text = verified(self.seen_key, seen) if seen is not None else None
        seen_at = _float(seen_text)
        if isinstance(session, dict) and seen_at is not None and math.isfinite(seen_at):
            data[SESSION_KEY] = {**session, SEEN_FIELD: seen_at}
        self._quiet = True
        try:
            for name in set(self) - data.keys():
                del self[name]
            self.update(data)
        finally:
            self._quiet = False
        self._written = (self._record_data(), self._seen(), SESSION_KEY in self)

    # ---- writing ------------------------------------------------------------------------------------------------
    def publish(self) -> None:
        """A change: write what changed (the record, or only the session's activity) soon, coalesced."""
        if self._quiet or not self.stored:
            return
        self.changes += 1
        background_tasks.create_lazy_or_defer(self.save(), name=f"redis-{self.key}")

    def clear(self) -> None:
        """Empty the storage: publish() deletes the record (and revokes a session it held)."""
        PersistentDict.clear(self)

    async def save(self) -> bool:
        """Write the current content; False (and marked dirty, for :func:`follow` to retry) when Redis failed."""
        redis = self.redis
        if redis is None:
            self.dirty = True
            return False
        record, seen, has_session = self._record_data(), self._seen(), SESSION_KEY in self
        try:
            pipeline = redis.pipeline(transaction=True)
            if record != self._written[0]:
                if self._written[2] and not has_session:
                    pipeline.set(self.revoked_key, "1", ex=_State.max_age)
                envelope = signed(self.key, record) if record != "{}" else ""
                pipeline.eval(_SAVE_LUA, 2, self.key, self.revoked_key, envelope, _State.max_age,
                              "1" if has_session else "0")
            if seen is not None and seen != self._written[1]:
                pipeline.set(self.seen_key, signed(self.seen_key, repr(seen)), ex=max(_State.idle, 1))
            results = await pipeline.execute()
        except shared_state.ERRORS as exc:
            self.dirty = True
            self._written = UNKNOWN  # it may have been applied: the next write rewrites all, revoking if need be
            _warn_write_failed(exc)
            return False
        self.dirty = False
        if record != self._written[0] and 0 in results:
            logger.warning("refused to write back a session that was logged out ({})", reference_of(self.key))
            self._quiet = True
            try:
                self.pop(SESSION_KEY, None)
            finally:
                self._quiet = False
            record, has_session = self._record_data(), False
        self._written = (record, seen, has_session)
        return True

    def _record_data(self) -> str:
        """The record's JSON: everything but the session's ``seen_at`` (kept apart)."""
        data = dict(self)
        session = data.get(SESSION_KEY)
        if isinstance(session, dict):
            data[SESSION_KEY] = {k: v for k, v in session.items() if k != SEEN_FIELD}
        return json.dumps(data, sort_keys=True, default=str)

    def _seen(self) -> float | None:
        session = self.get(SESSION_KEY)
        return _float(session.get(SEEN_FIELD)) if isinstance(session, dict) else None

    async def close(self) -> None:
        """Nothing to close: the connections are the process's shared pool."""


def _float(value: object) -> float | None:
    if not isinstance(value, str | bytes | int | float):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


async def follow() -> None:
    """Every ACCOUNTS_REFRESH_SECONDS: retry writes Redis refused, then reload the records of every session with an
    open page on this instance in one MGET (a logout on another instance reaches the open pages here)."""
    while True:
        await asyncio.sleep(_State.refresh)
        try:
            await _follow_once()
        except Exception as exc:  # never stop following
            logger.warning("following shared sessions failed: {}", exc)


async def _follow_once() -> None:
    redis = _redis()
    if redis is None:
        return
    storages = [s for s in app.storage._users.values() if isinstance(s, SharedStorage)]  # NiceGUI's registry
    for storage in storages:
        if storage.dirty and not await storage.save():
            return  # Redis is still failing: the rest waits for the next round
    open_ids = {str(c.request.session.get("id", "")) for c in list(Client.instances.values())
                if c.request is not None and "session" in c.request.scope}
    followed = [s for s in storages if s.session_id in open_ids and not s.busy]
    if not followed:
        return
    started = time.monotonic()
    changes = [s.changes for s in followed]
    try:
        values = await redis.mget([k for s in followed for k in s.redis_keys])
    except shared_state.ERRORS:
        return
    for index, storage in enumerate(followed):
        storage.apply(*values[3 * index:3 * index + 3], changes=changes[index])
    logger.trace("reloaded {} shared sessions in {:.1f} ms", len(followed), (time.monotonic() - started) * 1000)


class _Warned:
    at = -WARN_SECONDS


def _warn_write_failed(exc: BaseException) -> None:
    """One warning a minute while Redis refuses session writes (each is retried)."""
    now = time.monotonic()
    if now - _Warned.at >= WARN_SECONDS:
        _Warned.at = now
        logger.warning("session writes to Redis fail ({}); each is kept here and retried until Redis takes it",
                       type(exc).__name__)
