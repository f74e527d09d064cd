"""The release tab's failure signals, worked out in the browser from the release's view the page already receives:
"(N failed)" in front of the tab's title while any app failed, and, while the user watches the release (and allowed
it), a browser notification for each new failure. Nothing is sent per tab for them: the element shares the header's
view (like :class:`ReleaseStatus`); only ``watched`` is the tab's own, sent when the Watch switch changes."""

from __future__ import annotations

from ...domain.states import StateKind
from ..live.element import LiveElement
from ..live.release_model import LiveRelease
from ..theme import KIND_COLORS

REQUEST_PERMISSION_JS = """(on) => {
  if (on && "Notification" in window && Notification.permission === "default") Notification.requestPermission();
}"""
"""Run in the browser by the Watch switch's click (a user gesture, as browsers require for the permission prompt)."""


class ReleaseAlerts(LiveElement, component="release_alerts.js"):
    """No visible content: sets the tab title and shows browser notifications."""

    def __init__(self, live: LiveRelease, *, watched: bool) -> None:
        super().__init__(live.channel, live.seq)
        self.share(root=live.root)
        self._props["failColor"] = KIND_COLORS[StateKind.FAILED]
        self._props["watched"] = watched
        self.mark("release-alerts")

    @property
    def watched(self) -> bool:
        return bool(self._props.get("watched"))

    def set_watched(self, watched: bool) -> None:
        """Browser notifications on or off for this tab (the Watch switch)."""
        if self.watched != watched:
            self._props["watched"] = watched
            self.update()
