"""What the API and the pages show of channels, subscriptions and deliveries (never a channel's real URL)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EventName = Literal["release.failed", "release.completed", "release.closed", "release.stalled", "wave.failed",
                    "app.failed"]
EVENTS: tuple[str, ...] = ("release.failed", "release.completed", "release.closed", "release.stalled",
                           "wave.failed", "app.failed")
TREE_EVENTS = frozenset({"wave.failed", "app.failed"})
"""Events worked out from a release's tree (its mirror) rather than from the release list."""
EVENT_MEANINGS: dict[str, str] = {
    "release.failed": "the release's state became a failure state",
    "release.completed": "the release reached a done state",
    "release.closed": "the workflow was terminated, timed out, failed or was cancelled",
    "release.stalled": "no change for a while although the release is running",
    "wave.failed": "the first failure below a wave, then a summary of the failures that followed",
    "app.failed": "the first app that failed, then a summary of the apps that failed right after it",
}


class ChannelPublic(BaseModel):
    id: str
    name: str
    scope: Literal["shared", "personal"]
    owner: str | None = Field(description="The user of a personal channel; null for a shared one")
    kind: str = Field(description="The Apprise service (json, mailto, slack, …)")
    url: str = Field(description="The URL without its secrets")
    created_at: str
    created_by: str


class SubscriptionPublic(BaseModel):
    id: str
    owner: str
    release: str = Field(description='"*", a release id, or a release id prefix ending in "*"')
    events: list[str]
    channel: str | None = Field(description="A channel id; null: only the console's open pages are told")
    channel_name: str | None = None
    stalled_after_seconds: int | None = None
    created_at: str


class DeliveryPublic(BaseModel):
    id: str
    release: str
    event: str
    channel: str
    channel_name: str
    status: Literal["sending", "delivered", "failed"]
    reason: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
