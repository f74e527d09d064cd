"""The release page's header status (state badge, progress bar, "N/M apps done"), drawn in the browser."""

from __future__ import annotations

from ..live.element import LiveElement
from ..live.release_model import LiveRelease


class ReleaseStatus(LiveElement, component="release_status.js"):
    """The release's own view (shared by every tab), kept current by the live store."""

    def __init__(self, live: LiveRelease) -> None:
        super().__init__(live.channel, live.seq)
        self.share(root=live.root)
        self.mark("release-status")

    @property
    def progress_text(self) -> str:
        """What the header says, e.g. "3/10 apps done (30%)" (the server's copy of the shown view)."""
        return str(self.shared("root").get("lbl", ""))

    @property
    def state(self) -> str:
        return str(self.shared("root")["s"])
