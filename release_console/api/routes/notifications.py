"""/subscriptions, /notification-channels and /notification-deliveries: what the caller wants to hear about releases,
where it is sent, and how recent sends went.

The request models check only shapes and sizes (a malformed or oversized body is a 422 that changes nothing); the
meaning (release ids, events, channel URLs, who may use which channel) is the NotificationsService's, whose errors
carry their own status. A channel's URL is never answered, logged or audited: answers show its masked form, and the
API's validation handler never echoes a body's values. Reads work with an API key; changes need a signed-in token,
like the caller's own account (/users/me): a leaked key must not leave a channel behind that keeps receiving.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ...accounts.api_keys import KEY_TYPE
from ...notifications.channels import MAX_URL
from ...notifications.deliveries import DeliveryLog
from ...notifications.errors import NotificationError, NotificationsUnavailable
from ...notifications.models import EVENTS, ChannelPublic, DeliveryPublic, SubscriptionPublic
from ...notifications.service import (
    MAX_STALLED_AFTER_SECONDS,
    MIN_STALLED_AFTER_SECONDS,
    UNAVAILABLE,
    NotificationsService,
)
from ...runtime.audit import audit_repeated
from ..deps import Caller, CurrentCaller, CurrentUser, client_address, request_id, running_services
from ..reading import RELEASE_ID_PATTERN
from ..schemas import ErrorResponse

T = TypeVar("T")
MAX_RELEASE = 200
"""A release id, "*" or a prefix: ids are far shorter."""
MAX_ID = 64
"""Channel and subscription ids are 16 hex characters."""
MAX_DELIVERIES = 200
DISABLED = "notifications are turned off on this console (NOTIFICATIONS_ENABLED=false)"
RELEASE_PATTERN = rf"^(?:\*|release:[A-Za-z0-9._-]{{0,127}}\*|{RELEASE_ID_PATTERN[1:-1]})$"
"""What the service takes as ``release`` (documented; the service checks it, answering 422 ``invalid``)."""

ERRORS = {
    401: {"model": ErrorResponse, "description": "Missing or invalid bearer token"},
    503: {"model": ErrorResponse, "description": "Notifications are off, or Temporal did not answer (see Retry-After)"},
}
WRITE_ERRORS = {
    403: {"model": ErrorResponse, "description": "Not allowed for this caller (or the call came with an API key)"},
    404: {"model": ErrorResponse, "description": "Unknown release or channel, or another user's"},
    409: {"model": ErrorResponse, "description": "A limit is reached, or the channel is in use"},
    422: {"model": ErrorResponse, "description": "Malformed or oversized body, or values the console cannot use"},
}
router = APIRouter(tags=["notifications"], responses=ERRORS)  # type: ignore[arg-type]

ChannelId = Annotated[str, Path(min_length=1, max_length=MAX_ID, description="A channel id")]
SubscriptionId = Annotated[str, Path(min_length=1, max_length=MAX_ID, description="A subscription id")]


class SubscriptionCreate(BaseModel):
    """What to hear about, and where (the service checks the release exists, the events and the channel)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"release": "release:rel-001", "events": ["release.failed", "release.completed"], "channel": None},
        {"release": "release:prod-*", "events": ["release.stalled"], "channel": "3f2a9c0d1b7e4a56",
         "stalled_after_seconds": 3600},
    ]})
    release: str = Field(min_length=1, max_length=MAX_RELEASE, json_schema_extra={"pattern": RELEASE_PATTERN},
                         description='A release id ("release:x"), "*" for every release, or a prefix ending in "*" '
                                     '("release:prod-*")')
    events: list[Annotated[str, Field(max_length=64, json_schema_extra={"enum": list(EVENTS)})]] = Field(
        min_length=1, max_length=len(EVENTS), description=f"Any of: {', '.join(EVENTS)}")
    channel: str | None = Field(default=None, min_length=1, max_length=MAX_ID,
                                description="A shared or personal channel id; null: only the console's open pages")
    stalled_after_seconds: int | None = Field(
        default=None, strict=True,
        json_schema_extra={"anyOf": [{"type": "integer", "minimum": MIN_STALLED_AFTER_SECONDS,
                                      "maximum": MAX_STALLED_AFTER_SECONDS}, {"type": "null"}]},
        description=f"release.stalled after this long without a change ({MIN_STALLED_AFTER_SECONDS}–"
                    f"{MAX_STALLED_AFTER_SECONDS}; the console's default when null)")


class ChannelCreate(BaseModel):
    """A destination: an Apprise URL, kept sealed; answers only ever show it masked."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "release webhook", "url": "json://hooks.example.com/release-console", "shared": False},
    ]})
    name: str = Field(min_length=1, max_length=80)
    url: str = Field(min_length=1, max_length=MAX_URL, json_schema_extra={"writeOnly": True},
                     description="An Apprise URL of an allowed service (json://, slack://, mailto://, …); never shown "
                                 "again")
    shared: bool = Field(default=False, strict=True, description="Shared with every user (admins only)")


def notifications() -> NotificationsService:
    """The notifications service (503 while the console is not running or when notifications are off)."""
    running = running_services()
    if not running.settings.NOTIFICATIONS_ENABLED:
        raise NotificationsUnavailable(DISABLED)
    return running.notifications


def deliveries() -> DeliveryLog:
    """The delivery log, once the channels and subscriptions it filters by are loaded (else 503)."""
    if not notifications().loaded.is_set():
        raise NotificationsUnavailable(UNAVAILABLE, retry_after=5)
    return running_services().deliveries


def signed_in(caller: Caller) -> None:
    """403 for a caller that came with an API key: notification settings change with a signed-in token only."""
    if caller.token.typ == KEY_TYPE:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "notification settings are changed with a signed-in token, not with an API key")


async def _audited(request: Request, caller: Caller, action: str, target: str, change: Awaitable[T]) -> T:
    """The result of ``change``; a refusal gets a ``denied`` audit line with its code (never the request's values:
    the service audits what it did, and a channel's URL is never written anywhere)."""
    try:
        return await change
    except NotificationError as exc:
        if 400 <= exc.status < 500:
            audit_repeated(action, user=caller.principal.username, role=caller.principal.role,
                           target=target[:MAX_ID], outcome="denied", client=client_address(request),
                           request_id=request_id(request), reason=exc.code)
        raise


# ---- subscriptions -------------------------------------------------------------------------------------------------
@router.get("/subscriptions", response_model=list[SubscriptionPublic])
async def list_subscriptions(user: CurrentUser) -> list[SubscriptionPublic]:
    """The caller's subscriptions."""
    return notifications().list_subscriptions(user)


@router.post("/subscriptions", response_model=SubscriptionPublic, status_code=status.HTTP_201_CREATED,
             responses=WRITE_ERRORS)  # type: ignore[arg-type]
async def create_subscription(body: SubscriptionCreate, request: Request, caller: CurrentCaller) -> SubscriptionPublic:
    """Subscribe the caller to events of a release, of every release ("*") or of releases by id prefix."""
    signed_in(caller)
    change = notifications().create_subscription(caller.principal, body.release, body.events, body.channel,
                                                 body.stalled_after_seconds)
    return await _audited(request, caller, "notifications.subscription.create", body.release, change)


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=WRITE_ERRORS)  # type: ignore[arg-type]
async def delete_subscription(subscription_id: SubscriptionId, request: Request, caller: CurrentCaller) -> Response:
    """Delete one of the caller's subscriptions."""
    signed_in(caller)
    change = notifications().delete_subscription(caller.principal, subscription_id)
    await _audited(request, caller, "notifications.subscription.delete", subscription_id, change)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- channels ------------------------------------------------------------------------------------------------------
@router.get("/notification-channels", response_model=list[ChannelPublic])
async def list_channels(user: CurrentUser) -> list[ChannelPublic]:
    """The shared channels and the caller's personal ones (URLs masked)."""
    return notifications().list_channels(user)


@router.post("/notification-channels", response_model=ChannelPublic, status_code=status.HTTP_201_CREATED,
             responses=WRITE_ERRORS)  # type: ignore[arg-type]
async def create_channel(body: ChannelCreate, request: Request, caller: CurrentCaller) -> ChannelPublic:
    """A personal channel, or a shared one (admins only). The answer shows the URL masked, never the URL."""
    signed_in(caller)
    change = notifications().create_channel(caller.principal, body.name, body.url, shared=body.shared)
    target = "shared" if body.shared else caller.principal.username
    return await _audited(request, caller, "notifications.channel.create", target, change)


@router.delete("/notification-channels/{channel_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=WRITE_ERRORS)  # type: ignore[arg-type]
async def delete_channel(channel_id: ChannelId, request: Request, caller: CurrentCaller) -> Response:
    """Delete a personal channel (a shared one: admins); 409 while subscriptions use it."""
    signed_in(caller)
    change = notifications().delete_channel(caller.principal, channel_id)
    await _audited(request, caller, "notifications.channel.delete", channel_id, change)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/notification-channels/{channel_id}/test", status_code=status.HTTP_204_NO_CONTENT,
             responses={**WRITE_ERRORS,  # type: ignore[dict-item]
                        409: {"model": ErrorResponse, "description": "A test was sent to this channel a moment ago"},
                        502: {"model": ErrorResponse, "description": "The service refused the message (its reason)"}})
async def test_channel(channel_id: ChannelId, request: Request, caller: CurrentCaller) -> Response:
    """Send a test message to a channel now: 204 once the service took it, 502 with its reason when it did not."""
    signed_in(caller)
    change = notifications().test_channel(caller.principal, channel_id)
    await _audited(request, caller, "notifications.channel.test", channel_id, change)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- deliveries ----------------------------------------------------------------------------------------------------
@router.get("/notification-deliveries", response_model=list[DeliveryPublic],
            responses={422: {"model": ErrorResponse, "description": "limit out of range"}})
async def list_deliveries(
    user: CurrentUser,
    limit: int = Query(50, ge=1, le=MAX_DELIVERIES, description="At most this many, newest first"),
) -> list[DeliveryPublic]:
    """The caller's recent deliveries: to their personal channels and to the channels their subscriptions use."""
    return await deliveries().recent(user, limit)
