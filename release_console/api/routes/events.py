"""GET /releases/{release_id}/events: Server-Sent Events of state changes, fed by the release's shared mirror.

Each change is one ``change`` event ``{"id", "state", "version", "updated_at"}``; the last event of every batch
carries ``id: <version>``, so a reconnecting client (Last-Event-ID, or ``?since=<version>``) resumes exactly there.
``reload`` means the resume point is too old, or the console had to re-read the whole release because the workflow's
change log moved past it (fetch the release again; the stream goes on from the version given); ``status`` reports
the workflow closing or the data going stale; the stream ends after the release closes.

The caller is checked again at every event and on a AUTH_CHECK_SECONDS tick (account disabled or removed, password
changed, token expired: ``unauthorized``, then the stream ends), and a console shutting down (or draining after
SIGTERM, runtime/drain.py) ends the stream with ``end``: reconnect, through the load balancer, to another instance.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from ...accounts.api_keys import KEY_TYPE
from ...accounts.service import ACCOUNT_GONE, AccountsService
from ...domain.ids import EntityType
from ...domain.tree import Change
from ...readpath.mirror import ReleaseMirror
from ...readpath.quotas import StreamSlot
from ...runtime import drain
from ..deps import Caller, CurrentCaller, running_accounts, running_mirrors
from ..errors import invalid
from ..reading import ReleaseIdPath, parse_id
from .releases import ERRORS

KEEPALIVE_SECONDS = 15.0
AUTH_CHECK_SECONDS = 1.0
"""An open stream re-checks its caller at least this often (and before every event)."""
QUEUE_LIMIT = 10_000
MAX_VERSION = 2**53
RELOADED = "the release changed faster than its change log keeps: fetch it again"
TICK = object()
"""No event within AUTH_CHECK_SECONDS: re-check the caller, maybe send a keepalive."""

router = APIRouter(tags=["events"], responses=ERRORS)


@router.get(
    "/releases/{release_id}/events",
    summary="Live changes of a release (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def release_events(
    release_id: ReleaseIdPath,
    caller: CurrentCaller,
    since: Annotated[int | None, Query(ge=0, le=MAX_VERSION, description="Resume after this version.")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """A text/event-stream of changes (entity id, new state, version), resumable."""
    rid = parse_id(release_id, EntityType.RELEASE)
    resume = since if since is not None else _parse_last_event_id(last_event_id)
    mirrors = running_mirrors()
    slot = mirrors.quotas.open_stream(caller.principal.username)  # 429 when the user holds USER_SSE_STREAMS
    try:
        mirror = await mirrors.get(rid, user=caller.principal.username)
        refusal = _refusal_check(running_accounts(), caller)
    except BaseException:
        slot.close()
        raise
    return StreamingResponse(
        _stream(mirror, resume, refusal, slot),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _parse_last_event_id(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) > MAX_VERSION:
        raise invalid(f"Last-Event-ID {value[:20]!r} is not a version number", code="invalid_cursor")
    return int(value)


def _refusal_check(accounts: AccountsService, caller: Caller) -> Callable[[], str | None]:
    """A read-only re-check of the caller's token (expiry) and account (the accounts' one rule, as for every
    request): why to stop, or None."""
    payload = caller.token

    def refusal() -> str | None:
        if time.time() >= payload.exp:
            return "token expired"
        if payload.typ == KEY_TYPE and not accounts.api_keys.active(payload.jti):
            return "API key revoked"
        if accounts.check(payload.sub, payload.iat) is None:
            gone = accounts.principal(payload.sub) is None
            return ACCOUNT_GONE if gone else "the account's sessions were revoked since the token was issued"
        return None

    return refusal


async def _stream(
    mirror: ReleaseMirror, resume: int | None, refusal: Callable[[], str | None], slot: StreamSlot
) -> AsyncIterator[str]:
    queue: asyncio.Queue[list[Change] | None] = asyncio.Queue()
    behind = False

    def on_change(_mirror: ReleaseMirror, changes: list[Change]) -> None:
        nonlocal behind
        if behind:
            return  # the reader is told to reload once; nothing more is queued for it
        if queue.qsize() >= QUEUE_LIMIT:
            behind = True
            queue.put_nowait(None)  # too far behind: the client must reload
        else:
            queue.put_nowait(list(changes))

    remove = mirror.add_listener(on_change)
    draining = drain.current()
    draining.stream_opened()
    try:
        # Computed right after subscribing, with no await in between: nothing is missed or sent twice.
        version = mirror.version
        backlog, reload = _backlog(mirror, resume)
        yield "retry: 2000\n\n"
        yield _event("hello", _status(mirror), event_id=version if resume is None or reload else None)
        if reload:
            yield _event("reload", {"version": version, "reason": "resume point is no longer in the change log"})
        for chunk in _changes(backlog):
            yield chunk
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        reloads = mirror.reloads
        while True:
            if mirror.closed and queue.empty() and not mirror.retired:
                yield _event("status", _status(mirror))
                return
            item: list[Change] | object | None
            try:
                item = await asyncio.wait_for(queue.get(), AUTH_CHECK_SECONDS)
            except TimeoutError:
                item = TICK
            if (reason := refusal()) is not None:
                yield _event("unauthorized", {"reason": reason})
                return
            if mirror.retired or draining.active:
                yield _event("end", {"reason": "the console is shutting down; reconnect later", **_status(mirror)})
                return
            if item is TICK:
                if loop.time() - quiet_since >= KEEPALIVE_SECONDS:
                    quiet_since = loop.time()
                    yield ": keepalive\n\n"
                continue
            quiet_since = loop.time()
            if item is None:
                yield _event("reload", {"version": mirror.version, "reason": "client fell behind"}, mirror.version)
                return
            if mirror.reloads != reloads:  # the console re-read the release: changes in between were not seen
                reloads = mirror.reloads
                yield _event("reload", {"version": mirror.version, "reason": RELOADED}, mirror.version)
            elif item:
                for chunk in _changes(item):  # type: ignore[arg-type]
                    yield chunk
            elif not mirror.closed:
                yield _event("status", _status(mirror))
    finally:
        draining.stream_closed()
        remove()
        slot.close()


def _backlog(mirror: ReleaseMirror, resume: int | None) -> tuple[list[Change], bool]:
    if resume is None or resume == mirror.version:
        return [], False
    changes, _reached, more, reload = mirror.tree.changes_since(resume, QUEUE_LIMIT)
    if reload or more:  # too far behind to replay in one go: the client reloads instead
        return [], True
    return changes, False


def _changes(changes: list[Change]) -> list[str]:
    out = []
    for index, change in enumerate(changes):
        last_of_batch = index + 1 == len(changes) or changes[index + 1].version != change.version
        data = {"id": change.id, "state": change.state, "version": change.version, "updated_at": change.updated_at}
        out.append(_event("change", data, change.version if last_of_batch else None))
    return out


def _status(mirror: ReleaseMirror) -> dict[str, object]:
    return {
        "release_id": mirror.release_id,
        "version": mirror.version,
        "status": mirror.status,
        "state": mirror.tree.root.state,
        "stale": mirror.stale,
        "as_of": mirror.as_of.isoformat(),
    }


def _event(name: str, data: dict[str, object], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n"
