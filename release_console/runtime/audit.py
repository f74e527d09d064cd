"""The audit log (FR-014): one JSON line per event to a rotating file in DATA_DIR and to stdout.

``audit(...)`` may be called from anywhere; ``configure(settings)`` (at start-up) adds the sinks and starts the one
writer thread that feeds them, so a request only builds its line and queues it (a few µs; loguru's own ``enqueue``
pickles every record through a pipe, ~100 µs each); ``shutdown()`` writes whatever is queued first.
Never pass secrets: values of keys that look secret are replaced before anything is written, and every string value
is cut to MAX_VALUE characters, so no request can make a line (or the file) grow without bound. Events a client can
repeat at will (refused API calls, throttled logins) go through ``audit_repeated``: at most one line per client
and action every REPEAT_WINDOW_SECONDS, carrying a ``repeated`` count, so a flood cannot rotate the record away.
No sink logs local variables of a traceback (``diagnose=False``): a logged error must not show a password.
Every line names the console instance that wrote it (``instance``: INSTANCE_NAME), so the lines of several instances
can be merged: stdout is what a log shipper reads; the file in DATA_DIR is this instance's own copy (the admin page
reads it).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, TypeVar, overload

import orjson
from loguru import logger

if TYPE_CHECKING:
    from loguru import Message, Record  # loguru's stub-only types

from ..core.config import Settings, get_settings

T = TypeVar("T")
AuditFields = dict[str, Any]  # Any: keywords re-passed to audit(), where they may fill user, role (str | None) …

AUDIT_FILE = "audit.log"
AUDIT_EXTRA = "audit_line"
ROTATION = "10 MB"
RETENTION = 10  # rotated files kept besides the current one
SECRET_WORDS = ("password", "secret", "token", "authorization", "hash")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_VALUE = 256
REPEAT_WINDOW_SECONDS = 60.0
MAX_REPEAT_KEYS = 10_000
UNKNOWN_USER_PREFIX = 2


class _SinkOptions(TypedDict):
    diagnose: bool
    backtrace: bool


class _AuditState(TypedDict):
    handlers: list[int]
    default_replaced: bool
    writer: NotRequired[AuditWriter]
    instance: NotRequired[str]


SINK_OPTIONS: _SinkOptions = {"diagnose": False, "backtrace": False}
ORJSON_LIKE_STDLIB = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
"""Datetimes and dataclasses go through ``default=str`` as with ``json.dumps``."""
WRITE_BATCH = 500
"""The writer hands at most this many queued lines to the sinks at once."""
_state: _AuditState = {"handlers": [], "default_replaced": False}


_REQUEST_ID_PREFIX = uuid.uuid4().hex[:12]
_request_numbers = itertools.count(1)


def new_request_id() -> str:
    """A fresh request id: 32 hex digits, a random prefix of this process and a counter, unique across instances
    without a system call per request (``uuid4`` reads the OS's random source, a few µs on every API call)."""
    return f"{_REQUEST_ID_PREFIX}{next(_request_numbers):020x}"


def safe_request_id(given: str | None) -> str:
    """The caller's X-Request-ID when well-formed (1–64 of ``A-Za-z0-9._-``), otherwise a new id.

    The one place that decides what request id reaches an audit line (API and pages alike).
    """
    return given if given and REQUEST_ID.match(given) else new_request_id()


def audit_path(settings: Settings) -> Path:
    """Where the audit file lives."""
    return settings.DATA_DIR / AUDIT_FILE


def _is_audit(record: Record) -> bool:
    return AUDIT_EXTRA in record["extra"]


def _to_stdout(message: Message) -> None:
    sys.stdout.write(message)


def _to_stderr(message: Message) -> None:
    sys.stderr.write(message)


def _not_audit(record: Record) -> bool:
    return not _is_audit(record)


def _line(record: Record) -> str:
    return "{extra[" + AUDIT_EXTRA + "]}\n"


def configure(settings: Settings, *, rotation: str | int | None = None) -> None:
    """(Re)install the audit sinks: a rotating file and stdout, both written off the event loop; keep audit lines
    out of the stderr log, which (like every sink here) never prints a traceback's local variables."""
    shutdown()
    _state["instance"] = settings.instance_name
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    install_stderr_sink()
    _state["handlers"] = [
        logger.add(
            audit_path(settings), filter=_is_audit, format=_line, rotation=rotation or ROTATION, retention=RETENTION,
            encoding="utf-8", **SINK_OPTIONS,
        ),
        logger.add(_to_stdout, filter=_is_audit, format=_line, **SINK_OPTIONS),
    ]
    _state["writer"] = AuditWriter()


def install_stderr_sink() -> None:
    """Replace loguru's default stderr handler (which prints a traceback's local variables) with one that does not
    and that leaves audit lines out; once per process. Processes that never call ``configure`` (the standalone
    worker, the demo) should call this at start."""
    if _state["default_replaced"]:
        return
    with contextlib.suppress(ValueError):
        logger.remove(0)
        logger.add(_to_stderr, filter=_not_audit, level="INFO", **SINK_OPTIONS)
    _state["default_replaced"] = True


class AuditWriter:
    """The one thread that hands audit lines to the loguru sinks (file with rotation, stdout), in queue order."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="audit writer", daemon=True)
        self.thread.start()

    def put(self, line: str, action: str) -> None:
        """Queue one line (never blocks)."""
        self.queue.put((line, action))

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            with contextlib.suppress(queue.Empty):
                while len(batch) < WRITE_BATCH:
                    batch.append(self.queue.get_nowait())
            lines = [item for item in batch if item is not None]
            try:
                if lines:  # one sink call per batch: one write per sink instead of one per line
                    _write("\n".join(line for line, _action in lines), lines[-1][1])
            except Exception as exc:  # a sink failing must not stop the writer
                sys.stderr.write(f"audit writer: {type(exc).__name__}: {exc}\n")
            finally:
                for _ in batch:
                    self.queue.task_done()
            if len(lines) < len(batch):
                return

    def flush(self) -> None:
        """Wait until every line queued so far is written."""
        if self.thread.is_alive():
            self.queue.join()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        self.queue.put(None)
        self.thread.join(timeout)


def _write(line: str, action: str) -> None:
    logger.bind(**{AUDIT_EXTRA: line}).info("audit {}", action)


def flush() -> None:
    """Wait until every queued audit line is written (lines are written by a background thread)."""
    writer: AuditWriter | None = _state.get("writer")
    if writer is not None:
        writer.flush()


def shutdown() -> None:
    """Write the pending repeat counts and every queued line, then remove the audit sinks: nothing is lost on a
    clean stop."""
    if _state["handlers"]:
        _repeats.flush_pending()
    _repeats.reset()
    writer: AuditWriter | None = _state.pop("writer", None)
    if writer is not None:
        writer.stop()
    for handler in _state["handlers"]:
        with contextlib.suppress(ValueError):
            logger.remove(handler)
    _state["handlers"] = []


def _scrub(extra: dict[str, object]) -> dict[str, object]:
    return {k: ("***" if any(w in k.lower() for w in SECRET_WORDS) else v) for k, v in extra.items()}


@overload
def bounded(value: str, limit: int = MAX_VALUE) -> str: ...
@overload
def bounded(value: T, limit: int = MAX_VALUE) -> T | str: ...
def bounded(value: object, limit: int = MAX_VALUE) -> object:
    """A string cut to ``limit`` characters (saying how long it was); other values as they are."""
    if not isinstance(value, str) or len(value) <= limit:
        return value
    suffix = f"…[{len(value)} chars]"
    return value[: limit - len(suffix)] + suffix


def attempted_username(name: str, *, known: bool) -> str:
    """How a failed login's username is logged: an existing user's name as is; anything else (a typo, or a
    password typed into the username box) only as its first characters and its length, never whole."""
    if known:
        return name
    return f"{name[:UNKNOWN_USER_PREFIX]}…(unknown, {len(name)} chars)"


def _instance() -> str:
    """The console instance writing the lines (INSTANCE_NAME, else ``<hostname>:<PORT>``; see config.py): set by
    ``configure``, else read from the settings once."""
    name = _state.get("instance")
    if name is None:
        try:
            name = _state["instance"] = get_settings().instance_name
        except Exception:  # invalid settings: the line is still written
            name = "unknown"
    return name


def _encode(fields: dict[str, object]) -> str:
    """One line of JSON, ASCII only (non-ASCII escaped, so no reader splits a line at U+2028 and the like), values
    JSON cannot hold as ``str(value)``: orjson (~1 µs), or the standard library (~10 µs) for a line orjson cannot
    encode or that is not ASCII."""
    try:
        encoded: bytes | None = orjson.dumps(fields, default=str, option=ORJSON_LIKE_STDLIB)
    except TypeError:  # e.g. an int beyond 64 bits, a non-string key
        encoded = None
    if encoded is not None and encoded.isascii():
        return encoded.decode()
    return json.dumps(fields, default=str, separators=(",", ":"))


def audit(
    action: str,
    *,
    user: str | None,
    role: str | None,
    target: str | None = None,
    outcome: str = "ok",
    client: str | None = None,
    request_id: str | None = None,
    **extra: object,
) -> None:
    """Write one audit event as a JSON line (an event with no request id of its own, such as a click in an open
    page, gets a fresh one, so every line can be referred to)."""
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "instance": _instance(),
        "user": user,
        "role": role,
        "action": action,
        "target": target,
        "outcome": outcome,
        "client": client,
        "request_id": request_id or new_request_id(),
        **_scrub(extra),
    }
    line = _encode({k: bounded(v) for k, v in entry.items()})
    writer: AuditWriter | None = _state.get("writer")
    if writer is not None:
        writer.put(line, bounded(action, 64))
    else:
        _write(line, bounded(action, 64))


@dataclass
class _Repeat:
    since: float
    suppressed: int = 0
    last: AuditFields = field(default_factory=dict)


class RepeatLimiter:
    """At most one audit line per key every ``window`` seconds; the next line written says how many events it
    stands for (``repeated``), and ``flush_pending`` writes the counts still held (at a clean stop)."""

    def __init__(self, window: float = REPEAT_WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._keys: dict[tuple[str, str], _Repeat] = {}

    def admit(self, key: tuple[str, str], fields: AuditFields) -> int | None:
        """The number of events a line written now stands for (1 + those held back), or None to hold it back."""
        now = self.clock()
        seen = self._keys.get(key)
        if seen is not None and now - seen.since < self.window:
            seen.suppressed += 1
            seen.last = fields
            return None
        if seen is None and len(self._keys) >= MAX_REPEAT_KEYS:
            self.flush_pending()
            self._keys.clear()
        self._keys[key] = _Repeat(since=now)
        return 1 + (seen.suppressed if seen else 0)

    def flush_pending(self) -> None:
        """Write one line per key with events held back (``repeated`` = how many), then forget them."""
        for (action, _), seen in list(self._keys.items()):
            if seen.suppressed:
                audit(action, **{**seen.last, "repeated": seen.suppressed})
                seen.suppressed = 0

    def reset(self) -> None:
        """Forget every key (a fresh start)."""
        self._keys.clear()


_repeats = RepeatLimiter()


def audit_repeated(action: str, *, client: str | None, **fields: Any) -> None:  # Any: as AuditFields
    """Audit an event a client can repeat at will (e.g. refused API calls): at most one line per client and action
    per REPEAT_WINDOW_SECONDS; a line standing for more than one event carries ``repeated``."""
    fields = {"client": client, **fields}
    count = _repeats.admit((action, str(client)), fields)
    if count is None:
        return
    repeated: AuditFields = {"repeated": count} if count > 1 else {}
    audit(action, **fields, **repeated)


def audit_files(settings: Settings) -> list[Path]:
    """The current audit file and the rotated ones, newest first."""
    path = audit_path(settings)
    rotated = [p for p in path.parent.glob(f"{path.stem}.*{path.suffix}") if p.is_file()]
    rotated.sort(key=lambda p: (_mtime(p), p.name), reverse=True)
    return ([path] if path.exists() else []) + rotated


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _lines_backwards(path: Path, block: int = 1 << 16) -> Iterator[bytes]:
    """The lines of a file, last first, read in blocks from its end."""
    try:
        handle = path.open("rb")
    except OSError:  # rotated away or removed by retention meanwhile
        return
    with handle:
        position = handle.seek(0, os.SEEK_END)
        rest = b""
        while position > 0:
            size = min(block, position)
            position -= size
            handle.seek(position)
            lines = (handle.read(size) + rest).split(b"\n")
            rest = lines.pop(0)
            yield from reversed(lines)
        yield rest


def read_entries(
    settings: Settings, *, limit: int = 200, user: str | None = None, action: str | None = None
) -> list[dict[str, object]]:
    """The latest entries, newest first, of the current and the rotated audit files, optionally filtered by user
    (exactly) and action (by prefix). Queued lines are written first, so an event audited just before is found."""
    flush()
    # cheap substring checks before parsing (lines are written with these exact separators); confirmed after
    needles = [
        *([json.dumps({"user": user}, separators=(",", ":"))[1:-1].encode()] if user else []),
        *([json.dumps({"action": action}, separators=(",", ":"))[1:-2].encode()] if action else []),
    ]
    kept: list[dict[str, object]] = []
    for path in audit_files(settings):
        for raw in _lines_backwards(path):
            if not raw.strip() or any(n not in raw for n in needles):
                continue
            try:
                entry = json.loads(raw.decode("utf-8", errors="replace"))
            except json.JSONDecodeError:
                continue
            if not isinstance(entry, dict):
                continue
            if user and entry.get("user") != user:
                continue
            if action and not str(entry.get("action", "")).startswith(action):
                continue
            kept.append(entry)
            if len(kept) >= limit:
                return kept
    return kept
