"""The "updated Ns ago" chip: how old the shown data is; a warning when it is older than a few intervals.

Drawn in the browser (freshness.js) from the channel's freshness, which the server sends with every change and in a
heartbeat every few seconds, and the page's own clock: no timer per tab, and a page that stops hearing from the
server sees its data turn stale by itself.
"""

from __future__ import annotations

from ..live.channel import Channel
from ..live.element import LiveElement

STALE_INTERVALS = 4
MIN_STALE_SECONDS = 5.0


def stale_after(interval: float) -> float:
    """Seconds after which data counts as stale."""
    return max(MIN_STALE_SECONDS, STALE_INTERVALS * interval)


class Freshness(LiveElement, component="freshness.js"):
    """The chip; ``meta`` is the channel's shared freshness (``asOf`` ms, ``version``, ``status``, ``staleAfter``)."""

    def __init__(self, channel: Channel, seq: int, meta: dict[str, object]) -> None:
        super().__init__(channel, seq)
        self.share(meta=meta)
        self.mark("freshness")
