"""What can go wrong with channels and subscriptions, each with its HTTP status (one JSON handler answers them)."""

from __future__ import annotations

from ..core.errors import ConsoleError


class NotificationError(ConsoleError):
    """Base of the notification errors."""


class InvalidNotificationInput(NotificationError):
    code = "invalid_input"
    status = 422


class NotificationNotFound(NotificationError):
    """Unknown, or another user's (which is not told apart from unknown)."""

    code = "not_found"
    status = 404


class NotificationForbidden(NotificationError):
    code = "forbidden"
    status = 403


class ChannelInUse(NotificationError):
    code = "channel_in_use"
    status = 409


class TooManyRecords(NotificationError):
    code = "limit_reached"
    status = 409


class NotificationsUnavailable(NotificationError):
    code = "notifications_unavailable"
    status = 503


class TestSendFailed(NotificationError):
    """The channel's service did not take the test message (the reason is the service's own)."""

    code = "test_send_failed"
    status = 502
