"""The audit log (FR-014): one JSON line per event to a rotating file in DATA_DIR and to stdout.

``audit(...)`` may be called from anywhere; ``configure(settings)`` (at start-up) adds the sinks.
Never pass secrets: values of keys that look secret are replaced before anything is written.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger

from .config import Settings

AUDIT_FILE = "audit.log"
AUDIT_EXTRA = "audit_line"
SECRET_WORDS = ("password", "secret", "token", "authorization", "hash")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_state: dict[str, Any] = {"handlers": [], "default_replaced": False}


def safe_request_id(given: str | None) -> str:
    """The caller's X-Request-ID when well-formed (1–64 of ``A-Za-z0-9._-``), otherwise a new random id.

    The one place that decides what request id reaches an audit line (API and pages alike).
    """
    return given if given and REQUEST_ID.match(given) else uuid.uuid4().hex


def audit_path(settings: Settings) -> Path:
    """Where the audit file lives."""
    return settings.DATA_DIR / AUDIT_FILE


def _is_audit(record: dict) -> bool:
    return AUDIT_EXTRA in record["extra"]


def _line(record: dict) -> str:
    return "{extra[" + AUDIT_EXTRA + "]}\n"


def configure(settings: Settings) -> None:
    """(Re)install the audit sinks: a rotating file and stdout; keep audit lines out of the default stderr log."""
    shutdown()
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    if not _state["default_replaced"]:
        with contextlib.suppress(ValueError):
            logger.remove(0)
            logger.add(lambda m: sys.stderr.write(m), filter=lambda r: not _is_audit(r), level="INFO")
        _state["default_replaced"] = True
    _state["handlers"] = [
        logger.add(
            audit_path(settings), filter=_is_audit, format=_line, rotation="10 MB", retention=10, encoding="utf-8"
        ),
        logger.add(lambda m: sys.stdout.write(m), filter=_is_audit, format=_line),
    ]


def shutdown() -> None:
    """Remove the audit sinks (flushing the file)."""
    for handler in _state["handlers"]:
        with contextlib.suppress(ValueError):
            logger.remove(handler)
    _state["handlers"] = []


def _scrub(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if any(w in k.lower() for w in SECRET_WORDS) else v) for k, v in extra.items()}


def audit(
    action: str,
    *,
    user: str | None,
    role: str | None,
    target: str | None = None,
    outcome: str = "ok",
    client: str | None = None,
    request_id: str | None = None,
    **extra: Any,
) -> None:
    """Write one audit event as a JSON line (an event with no request id of its own, such as a click in an open
    page, gets a fresh one, so every line can be referred to)."""
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "user": user,
        "role": role,
        "action": action,
        "target": target,
        "outcome": outcome,
        "client": client,
        "request_id": request_id or uuid.uuid4().hex,
        **_scrub(extra),
    }
    line = json.dumps(entry, default=str, separators=(",", ":"))
    logger.bind(**{AUDIT_EXTRA: line}).info("audit {}", action)


def read_entries(
    settings: Settings, *, limit: int = 200, user: str | None = None, action: str | None = None
) -> list[dict[str, Any]]:
    """The latest entries (newest first) of the current audit file, optionally filtered by user and action."""
    path = audit_path(settings)
    if not path.exists():
        return []
    kept: deque[dict[str, Any]] = deque(maxlen=limit)
    with path.open(encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if not isinstance(entry, dict):
                continue
            if user and entry.get("user") != user:
                continue
            if action and not str(entry.get("action", "")).startswith(action):
                continue
            kept.append(entry)
    return list(reversed(kept))
