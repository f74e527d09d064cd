"""NotificationsWorkflow: the console's notification channels and subscriptions, kept in Temporal.

One workflow per accounts namespace, run by every console on its own task queue. Consoles write whole records
(``put_*``) sealed with a key only they hold: a channel's URL is encrypted and every record is authenticated
(notifications/sealing.py); the workflow checks shapes and sizes only. Reads are queries (a cheap version, then the
snapshot on change). The run continues-as-new when Temporal suggests it or after ``max_updates_per_run``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError

WORKFLOW_TYPE = "NotificationsWorkflow"
QUERY_VERSION = "notifications_version"
QUERY_SNAPSHOT = "notifications_snapshot"
UPDATE_PUT_CHANNEL = "put_channel"
UPDATE_DELETE_CHANNEL = "delete_channel"
UPDATE_PUT_SUBSCRIPTION = "put_subscription"
UPDATE_DELETE_SUBSCRIPTION = "delete_subscription"

RECORD_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_NAME = 80
MAX_TEXT = 4096
"""Sealed URLs, masked URLs and release patterns stay well below this."""
MAX_CHANNELS = 200
MAX_SUBSCRIPTIONS = 2000
MAX_PERSONAL_CHANNELS = 20
MAX_SUBSCRIPTIONS_PER_USER = 200
MAX_STORE_BYTES = 1_200_000
"""The records' text in all: the snapshot (each Update's answer, a query result, the continue-as-new input) stays
well below Temporal's 2 MiB payload limit."""
MAX_EVENTS = 16

ERR_INVALID = "invalid"
ERR_NOT_FOUND = "not_found"
ERR_IN_USE = "in_use"
ERR_LIMIT = "limit"


@dataclass
class ChannelRecord:
    """A destination: ``owner`` None is a shared channel (admins manage it), else the user's personal one.
    ``sealed_url`` holds the Apprise URL encrypted; its authentication covers every other field."""

    id: str
    name: str
    owner: str | None
    kind: str
    masked_url: str
    sealed_url: str
    created_at: str
    created_by: str


@dataclass
class SubscriptionRecord:
    """What ``owner`` wants to hear: ``release`` is "*", a release id, or a prefix ending in "*"; ``channel`` None
    means the open console pages only. ``signature`` authenticates every other field."""

    id: str
    owner: str
    release: str
    events: list[str]
    channel: str | None
    created_at: str
    signature: str
    stalled_after_seconds: int | None = None


@dataclass
class NotificationsSnapshot:
    version: int
    channels: list[ChannelRecord] = field(default_factory=list)
    subscriptions: list[SubscriptionRecord] = field(default_factory=list)


@dataclass
class NotificationsInput:
    channels: list[ChannelRecord] = field(default_factory=list)
    subscriptions: list[SubscriptionRecord] = field(default_factory=list)
    version: int = 0
    max_updates_per_run: int = 500


@dataclass
class RecordRef:
    id: str


def _reject(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _check_text(name: str, value: object, limit: int = MAX_TEXT, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value or len(value) > limit:
        raise _reject(f"{name} must be a non-empty string of at most {limit} characters", ERR_INVALID)


def _check_id(value: object) -> None:
    if not isinstance(value, str) or not RECORD_ID.match(value):
        raise _reject("ids are 16 lowercase hex characters", ERR_INVALID)


def _channel_bytes(record: ChannelRecord) -> int:
    return 200 + sum(len(v) for v in (record.id, record.name, record.owner or "", record.kind, record.masked_url,
                                      record.sealed_url, record.created_at, record.created_by))


def _subscription_bytes(record: SubscriptionRecord) -> int:
    return 250 + sum(len(v) for v in (record.id, record.owner, record.release, record.channel or "",
                                      record.created_at, record.signature, *record.events))


@workflow.defn(name=WORKFLOW_TYPE)
class NotificationsWorkflow:
    """Holds channels and subscriptions; never completes (continues-as-new to keep history short)."""

    @workflow.init
    def __init__(self, input: NotificationsInput) -> None:
        """Load the carried records before any handler runs."""
        self.input = input
        self.channels: dict[str, ChannelRecord] = {c.id: c for c in input.channels}
        self.subscriptions: dict[str, SubscriptionRecord] = {s.id: s for s in input.subscriptions}
        self.version = input.version
        self.updates_this_run = 0

    @workflow.run
    async def run(self, input: NotificationsInput) -> None:
        await workflow.wait_condition(self._should_continue_as_new)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(NotificationsInput(
            channels=list(self.channels.values()), subscriptions=list(self.subscriptions.values()),
            version=self.version, max_updates_per_run=input.max_updates_per_run,
        ))

    @workflow.query(name=QUERY_VERSION)
    def get_version(self) -> int:
        """The current version: cheap to poll."""
        return self.version

    @workflow.query(name=QUERY_SNAPSHOT)
    def snapshot(self) -> NotificationsSnapshot:
        """Every channel and subscription."""
        return self._snapshot()

    @workflow.update(name=UPDATE_PUT_CHANNEL)
    def put_channel(self, record: ChannelRecord) -> NotificationsSnapshot:
        """Add or replace a channel."""
        self.channels[record.id] = record
        return self._changed()

    @put_channel.validator
    def _validate_put_channel(self, record: ChannelRecord) -> None:
        _check_id(record.id)
        _check_text("name", record.name, MAX_NAME)
        _check_text("owner", record.owner, MAX_NAME, optional=True)
        _check_text("kind", record.kind, MAX_NAME)
        for name in ("masked_url", "sealed_url", "created_at", "created_by"):
            _check_text(name, getattr(record, name))
        if record.id not in self.channels:
            if len(self.channels) >= MAX_CHANNELS:
                raise _reject(f"at most {MAX_CHANNELS} channels", ERR_LIMIT)
            if record.owner is not None and sum(
                    1 for c in self.channels.values() if c.owner == record.owner) >= MAX_PERSONAL_CHANNELS:
                raise _reject(f"at most {MAX_PERSONAL_CHANNELS} personal channels per user", ERR_LIMIT)
            self._check_budget(_channel_bytes(record))

    @workflow.update(name=UPDATE_DELETE_CHANNEL)
    def delete_channel(self, ref: RecordRef) -> NotificationsSnapshot:
        """Remove a channel no subscription uses."""
        del self.channels[ref.id]
        return self._changed()

    @delete_channel.validator
    def _validate_delete_channel(self, ref: RecordRef) -> None:
        if ref.id not in self.channels:
            raise _reject("no such channel", ERR_NOT_FOUND)
        users = sum(1 for s in self.subscriptions.values() if s.channel == ref.id)
        if users:
            raise _reject(f"{users} subscription(s) use this channel; delete them first", ERR_IN_USE)

    @workflow.update(name=UPDATE_PUT_SUBSCRIPTION)
    def put_subscription(self, record: SubscriptionRecord) -> NotificationsSnapshot:
        """Add or replace a subscription."""
        self.subscriptions[record.id] = record
        return self._changed()

    @put_subscription.validator
    def _validate_put_subscription(self, record: SubscriptionRecord) -> None:
        _check_id(record.id)
        for name in ("owner", "release", "created_at", "signature"):
            _check_text(name, getattr(record, name))
        if not isinstance(record.events, list) or not record.events or len(record.events) > MAX_EVENTS:
            raise _reject(f"events must list 1 to {MAX_EVENTS} event names", ERR_INVALID)
        for event in record.events:
            _check_text("event", event, MAX_NAME)
        if record.channel is not None and record.channel not in self.channels:
            raise _reject("no such channel", ERR_NOT_FOUND)
        if record.id not in self.subscriptions:
            if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
                raise _reject(f"at most {MAX_SUBSCRIPTIONS} subscriptions", ERR_LIMIT)
            if sum(1 for s in self.subscriptions.values() if s.owner == record.owner) >= MAX_SUBSCRIPTIONS_PER_USER:
                raise _reject(f"at most {MAX_SUBSCRIPTIONS_PER_USER} subscriptions per user", ERR_LIMIT)
            self._check_budget(_subscription_bytes(record))

    @workflow.update(name=UPDATE_DELETE_SUBSCRIPTION)
    def delete_subscription(self, ref: RecordRef) -> NotificationsSnapshot:
        """Remove a subscription."""
        del self.subscriptions[ref.id]
        return self._changed()

    @delete_subscription.validator
    def _validate_delete_subscription(self, ref: RecordRef) -> None:
        if ref.id not in self.subscriptions:
            raise _reject("no such subscription", ERR_NOT_FOUND)

    def _check_budget(self, adding: int) -> None:
        used = (sum(_channel_bytes(c) for c in self.channels.values())
                + sum(_subscription_bytes(s) for s in self.subscriptions.values()))
        if used + adding > MAX_STORE_BYTES:
            raise _reject("the notification store is full; delete unused channels or subscriptions", ERR_LIMIT)

    def _changed(self) -> NotificationsSnapshot:
        self.version += 1
        self.updates_this_run += 1
        return self._snapshot()

    def _snapshot(self) -> NotificationsSnapshot:
        return NotificationsSnapshot(
            version=self.version,
            channels=sorted(self.channels.values(), key=lambda c: c.id),
            subscriptions=sorted(self.subscriptions.values(), key=lambda s: s.id),
        )

    def _should_continue_as_new(self) -> bool:
        return (workflow.info().is_continue_as_new_suggested()
                or self.updates_this_run >= self.input.max_updates_per_run)
