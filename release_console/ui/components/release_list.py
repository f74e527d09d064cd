"""The release list's live components: totals and state chips, rows and pager, drawn in the browser."""

from __future__ import annotations

from ..live.element import LiveElement
from ..live.list_model import ListPage


class ReleaseSummary(LiveElement, component="release_summary.js"):
    """"12 of 340 shown" and one chip per state (``pick`` events filter the list)."""

    def __init__(self, page: ListPage, state_filter: str | None) -> None:
        super().__init__(page.channel, page.seq)
        self.show(page, state_filter)
        self.mark("state-summary")

    def show(self, page: ListPage, state_filter: str | None) -> None:
        """Follow another view of the list."""
        self.share(ch=page.channel.name, seq=page.seq, page=page.page, filter=state_filter)
        self.update()


class ReleaseTable(LiveElement, component="release_table.js"):
    """The rows of one page of a view of the list, and its pager (``page`` events)."""

    def __init__(self, page: ListPage) -> None:
        super().__init__(page.channel, page.seq)
        self.show(page)
        self.classes("w-full").mark("release-rows")

    def show(self, page: ListPage) -> None:
        """Follow another view of the list."""
        self.share(ch=page.channel.name, seq=page.seq, page=page.page, views=page.views)
        self.update()

    @property
    def ids(self) -> list[str]:
        """The release ids shown, top to bottom (the server's copy)."""
        return list(self.shared("page").get("ids", []))
