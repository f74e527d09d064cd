"""Sessions for watchers: interaction and a visible tab are activity; a notice before the session ends.

Rules:

- A session ends SESSION_MAX_AGE_SECONDS after login, whatever happens, or SESSION_IDLE_SECONDS after the last
  activity (ui/auth.py checks both on every page request and on each open page's refresh tick).
- Activity is a page request, any interaction on a page (a click or a key press: filters, expands, selections…),
  and a *visible* tab: while a console tab is visible (Page Visibility API, ``document.visibilityState``), its
  refresh tick counts as activity, so a watcher who keeps the release page on screen stays signed in up to
  SESSION_MAX_AGE_SECONDS. A hidden tab (another tab in front, a minimised window) does not count: with no other
  activity it is signed out after SESSION_IDLE_SECONDS.
- SESSION_NOTICE_SECONDS (120) before the session ends, the page shows a notice. When the end is the idle timeout,
  its "stay signed in" button (or any interaction) counts as activity; when it is the maximum age, it says when the
  session ends and that signing in again will be needed.

The browser side is one event hook: visibility changes and interactions are sent to the page as NiceGUI global
events (``ui.on``); everything else is Python. Each tick is a few dictionary reads; the session is written at most
every TOUCH_SECONDS per session (``seen_at``), not on every tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from typing import Any

from nicegui import Client, ui
from nicegui.events import GenericEventArguments

from ..contract.shapes import JsonObject
from ..core.config import Settings

VISIBLE_KEY = "page_visible"
NOTICE_KEY = "session_notice"
VISIBILITY_EVENT = "rc_visibility"
ACTIVITY_EVENT = "rc_activity"
ACTIVITY_THROTTLE_SECONDS = 2.0
EVENT_HOOK = (
    "(() => { const v = () => emitEvent('rc_visibility', document.visibilityState); "
    "document.addEventListener('visibilitychange', v); "
    "for (const t of ['pointerdown', 'keydown']) document.addEventListener(t, () => emitEvent('rc_activity'), true); "
    "v(); })()"
)
"""The one browser-side hook: report the visibility state (now and on change) and interactions."""


def touch_seconds(settings: Settings) -> float:
    """How stale ``seen_at`` may get before activity writes it again (a fraction of the idle timeout, ≤ 30 s)."""
    return max(0.5, min(30.0, settings.SESSION_IDLE_SECONDS / 4))


PageStorage = MutableMapping[str, Any]  # Any: a NiceGUI storage of JSON values (a dict[Any, Any] to NiceGUI)


def session_end(session: JsonObject, settings: Settings) -> tuple[float, str]:
    """When the session ends and why: ``("idle" | "max_age")``."""
    idle_end = float(session["seen_at"]) + settings.SESSION_IDLE_SECONDS
    max_end = float(session["login_at"]) + settings.SESSION_MAX_AGE_SECONDS
    return (idle_end, "idle") if idle_end < max_end else (max_end, "max_age")


def record_activity(storage: PageStorage, key: str, now: float, settings: Settings) -> bool:
    """Mark the session as active at ``now`` (at most every touch_seconds); True when written.

    Only a live session is touched: an ended one is never brought back (the caller validated it)."""
    session = storage.get(key)
    if not session:
        return False
    try:
        seen = float(session["seen_at"])
    except (KeyError, TypeError, ValueError):
        return False
    if now - seen < touch_seconds(settings):
        return False
    storage[key] = {**session, "seen_at": now}
    return True


class SessionKeepalive:
    """Per page connection: visibility and interaction from the browser, the notice before the end."""

    def __init__(
        self,
        client: Client,
        storage: PageStorage,
        key: str,
        is_valid: Callable[[], bool],
        settings: Callable[[], Settings],
        clock: Callable[[], float],
    ) -> None:
        self.client = client
        self.storage = storage
        self.key = key
        self.is_valid = is_valid
        self.settings = settings
        self.clock = clock
        self.visible = False  # until the browser says so: a tab that never reports does not count
        self.notice: ui.element | None = None
        self.notice_label: ui.label | None = None
        self.stay: ui.button | None = None
        with client:
            ui.on(VISIBILITY_EVENT, self._on_visibility)
            ui.on(ACTIVITY_EVENT, self._on_activity, throttle=ACTIVITY_THROTTLE_SECONDS)
            ui.run_javascript(EVENT_HOOK)

    # ---- browser events ---------------------------------------------------------------------------------
    def _on_visibility(self, event: GenericEventArguments) -> None:
        self.set_visible(event.args == "visible" or event.args == ["visible"])

    def _on_activity(self, _event: GenericEventArguments | None = None) -> None:
        self.activity()

    def set_visible(self, visible: bool) -> None:
        """The tab became visible (activity) or hidden."""
        self.visible = visible
        self.client.storage[VISIBLE_KEY] = visible
        if visible:
            self.activity()

    def activity(self, *, force: bool = False) -> None:
        """An interaction on the page: the session is active now (if it is still valid)."""
        if not self.is_valid():
            return
        settings = self.settings()
        now = self.clock()
        if force:
            session = self.storage.get(self.key)
            if session:
                self.storage[self.key] = {**session, "seen_at": now}
        else:
            record_activity(self.storage, self.key, now, settings)
        self.update_notice()

    # ---- the refresh tick --------------------------------------------------------------------------------
    def tick(self) -> None:
        """Called by the page's session check before it validates: a visible tab is activity; the notice."""
        if self.visible:
            self.activity()
        else:
            self.update_notice()

    def update_notice(self) -> None:
        """Show, update or hide the notice for the current session."""
        session = self.storage.get(self.key)
        settings = self.settings()
        if not session or not self.is_valid():
            self._hide()
            return
        end, why = session_end(session, settings)
        left = end - self.clock()
        if left > settings.SESSION_NOTICE_SECONDS:
            self._hide()
            return
        self._show(left, why)

    def _show(self, left: float, why: str) -> None:
        minutes, seconds = divmod(max(0, int(left)), 60)
        when = f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
        if why == "idle":
            text = f"Your session ends in {when} without activity."
        else:
            at = time.strftime("%H:%M:%S", time.localtime(time.time() + max(0.0, left)))
            text = f"Your session reaches its maximum length in {when} (at {at}); then sign in again."
        if self.notice is None or self.notice.is_deleted:
            with self.client.layout:
                with ui.card().classes("fixed bottom-4 right-4 z-50 shadow-lg").mark("session-notice") as card:
                    self.notice_label = ui.label(text).mark("session-notice-text")
                    with ui.row().classes("gap-2"):
                        self.stay = ui.button("Stay signed in", on_click=lambda: self.activity(force=True))
                        self.stay.props("dense color=primary").mark("stay-signed-in")
                self.notice = card
        assert self.notice_label is not None and self.stay is not None
        self.notice_label.set_text(text)
        self.stay.set_visibility(why == "idle")
        self.notice.set_visibility(True)

    def _hide(self) -> None:
        if self.notice is not None and not self.notice.is_deleted:
            self.notice.set_visibility(False)
