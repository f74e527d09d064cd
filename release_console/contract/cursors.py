"""Offset cursors ``o:<n>``: opaque to callers, checked on the way in."""

from __future__ import annotations


def parse_offset_cursor(cursor: str | None, total: int) -> int:
    """Decode an offset cursor ``o:<n>``; ValueError if forged or out of range."""
    if cursor is None or cursor == "":
        return 0
    prefix, _, number = cursor.partition(":")
    if prefix != "o" or not number.isdigit() or len(number) > 9:
        raise ValueError(f"invalid cursor {cursor[:40]!r}")
    offset = int(number)
    if offset > total:
        raise ValueError(f"cursor {cursor!r} is past the end ({total} items)")
    return offset


def offset_cursor(offset: int, total: int) -> str | None:
    """The cursor of the page starting at ``offset`` (None when nothing is left)."""
    return f"o:{offset}" if offset < total else None
