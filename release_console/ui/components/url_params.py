"""Query parameters from the URL: anything a user can type there is checked; bad values are dropped with a reason.

Pages take their query parameters as plain strings (a typed ``int`` would make FastAPI answer a bad value with a
422 JSON body instead of the page) and pass them through these helpers; each returns the value to use and, for a
value it had to drop, a short message the page shows in its banner.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...domain.ids import InvalidEntityId, parse_entity_id
from ...domain.states import InvalidState, validate_state

MAX_PAGE = 1_000_000
MAX_SHOWN = 40


def shown(value: str) -> str:
    """A user-supplied value, shortened for a message."""
    return value if len(value) <= MAX_SHOWN else f"{value[:MAX_SHOWN]}…"


def state_param(value: str | None) -> tuple[str | None, str | None]:
    """A state filter (any printable state up to 64 characters) or None with the reason it was ignored."""
    if value is None or value == "":
        return None, None
    try:
        return validate_state(value), None
    except InvalidState as exc:
        return None, f"Ignored the state filter: {exc}."


def page_param(value: str | None) -> tuple[int, str | None]:
    """A page number ≥ 1, or 1 with the reason the given value was ignored."""
    if value is None or value == "":
        return 1, None
    text = value.strip()
    if not text.isdigit() or not text.isascii() or len(text) > len(str(MAX_PAGE)) or int(text) < 1:
        return 1, f"Ignored page “{shown(value)}”: a page is a whole number from 1; showing page 1."
    return min(int(text), MAX_PAGE), None


def choice_param(value: str | None, choices: Iterable[str], default: str, what: str) -> tuple[str, str | None]:
    """One of ``choices``, or ``default`` with the reason the given value was ignored."""
    options = list(choices)
    if value is None or value == "" or value in options:
        return value or default, None
    return default, f"Ignored {what} “{shown(value)}”: use one of {', '.join(options)}."


def text_param(value: str | None, limit: int) -> str:
    """Free text (a search): trimmed, non-printable characters dropped, at most ``limit`` characters."""
    return "".join(c for c in (value or "") if c.isprintable())[:limit].strip()


def entity_param(value: str | None) -> tuple[str | None, str | None]:
    """A well-formed entity id, or None with the reason it was ignored."""
    if value is None or value == "":
        return None, None
    try:
        parse_entity_id(value)
    except InvalidEntityId:
        return None, f"Ignored node “{shown(value)}”: not an entity id (like 'app:checkout')."
    return value, None
