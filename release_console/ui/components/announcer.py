"""The live pages' polite announcements: what changed, said to screen readers without moving the focus.

One live region per page (announcer.js, ``role=status``: aria-live polite), fed by the live channel that already
reaches the tab. On a release page: the number of failed apps and the workflow's end ("3 apps failed"); on the
release list: releases shown whose failed apps went up ("release:rel-001: 2 apps failed"). At most one announcement
every ``gap`` seconds; changes in between are said together, as they stand then. Nothing runs on the server per
tab.
"""

from __future__ import annotations

from ..live.element import LiveElement
from ..live.list_model import ListPage
from ..live.release_model import LiveRelease

GAP_SECONDS = 5.0
"""The least time between two announcements."""


class Announcer(LiveElement, component="announcer.js"):
    """The page's aria-live region for one release (visually hidden)."""

    def __init__(self, live: LiveRelease, *, gap: float = GAP_SECONDS) -> None:
        super().__init__(live.channel, live.seq)
        self.share(root=live.root, meta=live.meta)
        self._props["gap"] = int(gap * 1000)
        self.mark("announcer")


class ListAnnouncer(LiveElement, component="announcer.js"):
    """The release list's aria-live region (visually hidden), for the view of the list the tab shows."""

    def __init__(self, page: ListPage, *, gap: float = GAP_SECONDS) -> None:
        super().__init__(page.channel, page.seq)
        self._props["gap"] = int(gap * 1000)
        self.show(page)
        self.mark("announcer")

    def show(self, page: ListPage) -> None:
        """Follow another view of the list (what it shows when switched to is not announced)."""
        self.share(ch=page.channel.name, seq=page.seq, page=page.page, views=page.views)
        self.update()
