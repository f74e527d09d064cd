"""The release page's Watch switch: on, the signed-in user subscribes to exactly this release, every event, on their
first (oldest) personal channel (or this console only, without one); off, that subscription is deleted.

It reads the notifications service's memory when drawn (no Temporal call) and writes only when switched; the tab's
:class:`ReleaseAlerts` follows it (browser notifications while on). Switching it on also asks the browser, in the
click itself, for permission to show notifications.
"""

from __future__ import annotations

from loguru import logger
from nicegui import ui

from ... import services
from ...accounts.models import Principal
from ...notifications.errors import NotificationError
from ...notifications.models import EVENTS, ChannelPublic
from .. import auth
from .release_alerts import REQUEST_PERMISSION_JS, ReleaseAlerts

TOOLTIP = ("Be told about this release: every event, on your first personal channel (or only in this console's open "
           "pages), and as a browser notification in this tab when something fails. Manage it under ⋮ → "
           "Notifications.")


def first_personal_channel(channels: list[ChannelPublic]) -> ChannelPublic | None:
    """The user's oldest personal channel (by name among those created in the same millisecond), or None."""
    personal = [c for c in channels if c.scope == "personal"]
    return min(personal, key=lambda c: (c.created_at, c.name, c.id)) if personal else None


class WatchToggle:
    """A switch for the signed-in user's subscription to ``release_id``."""

    def __init__(self, release_id: str, alerts: ReleaseAlerts) -> None:
        self.release_id = release_id
        self.alerts = alerts
        self.service = services.running().notifications
        user = auth.current_user()
        self.watched = user is not None and self.service.watching(user, release_id) is not None
        """What the service holds; the switch shows it (and goes back to it when a change is refused)."""
        self.switch = ui.switch("Watch", value=self.watched).props("dense color=primary").mark("watch-toggle")
        self.switch.tooltip(TOOLTIP)
        self.switch.on("update:model-value", js_handler=REQUEST_PERMISSION_JS)
        self.switch.on_value_change(self._changed)
        alerts.set_watched(self.watched)

    async def _changed(self) -> None:
        on = bool(self.switch.value)
        if on == self.watched:  # nothing to do (the switch put back after a refusal)
            return
        user = auth.current_user()
        if user is None:  # the session ended since the page was drawn
            ui.navigate.reload()
            return
        self.switch.disable()  # one change at a time
        try:
            await self._apply(user, on)
        except NotificationError as exc:
            ui.notify(f"Could not {'watch' if on else 'stop watching'} {self.release_id}: {exc.message}",
                      type="negative")
        except Exception:  # a bug: logged with its traceback, never shown
            logger.exception("watch switch of {} failed", self.release_id)
            ui.notify("The watch switch failed; the error has been logged.", type="negative")
        finally:
            self.switch.enable()
            self.switch.value = self.watched
            self.alerts.set_watched(self.watched)

    async def _apply(self, user: Principal, on: bool) -> None:
        current = self.service.watching(user, self.release_id)
        if on and current is None:
            channel = first_personal_channel(self.service.list_channels(user))
            await self.service.create_subscription(user, self.release_id, list(EVENTS),
                                                   channel.id if channel else None)
            where = f"on {channel.name}" if channel else "in this console's open pages"
            ui.notify(f"Watching {self.release_id}: you will be told {where}", type="positive")
        elif not on and current is not None:
            await self.service.delete_subscription(user, current.id)
            ui.notify(f"No longer watching {self.release_id}", type="info")
        self.watched = on
