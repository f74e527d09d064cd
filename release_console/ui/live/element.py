"""The base of components fed by a live channel: drawn from their props, then kept current by the page's store.

A live component's data props hold the *shared* objects of its model (views, page, meta), as they are: NiceGUI
would copy a dict or list put into props into observable ones of its own (a copy per tab, and an update per tab
whenever one changed). :meth:`LiveElement.share` stores them unwrapped, so every tab's element refers to the same
object, the server's page state follows the model with no work per tab, and changing the object sends nothing by
itself (the model's channel does).
"""

from __future__ import annotations

import time
from typing import Any

from nicegui import ui

from . import LIVE_LIBRARY
from .channel import Channel


def now_ms() -> int:
    """The server's clock, for pages to set theirs by (their "3 s ago" texts)."""
    return int(time.time() * 1000)


class LiveElement(ui.element, dependencies=[LIVE_LIBRARY]):
    """A component of a live channel (``ch``), drawn as of message ``seq``."""

    def __init__(self, channel: Channel, seq: int) -> None:
        super().__init__()
        self._props.update({"ch": channel.name, "seq": seq, "now": now_ms()})

    def share(self, **props: object) -> None:
        """Hold these props as they are (shared objects, or per-tab structures that NiceGUI need not watch); the
        element is sent again only on :meth:`update`."""
        for key, value in props.items():
            dict.__setitem__(self._props, key, value)

    def shared(self, key: str) -> Any:  # Any: a prop as NiceGUI's props (a dict[Any, Any]) hold it; callers know it
        """A prop held by :meth:`share`."""
        return dict.__getitem__(self._props, key)
