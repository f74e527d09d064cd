"""NotificationsService: the console's cached view of NotificationsWorkflow, and the one place that changes it.

Reads never touch Temporal: channels and subscriptions live in memory, refreshed when the workflow's version changes
(one small query every ACCOUNTS_REFRESH_SECONDS). Each write is an Update that returns the new snapshot. Only records
this console can open (a channel's sealed URL) or verify (a subscription's signature) count; others are skipped and
logged once by id. Who may do what: everyone manages their own subscriptions and personal channels, admins also the
shared channels; another user's records answer 404 exactly like unknown ones.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from ..accounts.models import Principal
from ..core.config import Settings
from ..core.listeners import Listeners
from ..core.tasks import cancel_and_wait, cancelling
from ..domain.ids import EntityId, EntityType, InvalidEntityId
from ..runtime.audit import audit
from ..temporal.client import accounts_namespace, for_namespace
from ..temporal.versioned import snapshot_if_changed
from ..workflows import notifications as store
from ..workflows.delivery import Message
from ..workflows.notifications import (
    MAX_PERSONAL_CHANNELS,
    MAX_SUBSCRIPTIONS_PER_USER,
    ChannelRecord,
    NotificationsInput,
    NotificationsSnapshot,
    NotificationsWorkflow,
    RecordRef,
    SubscriptionRecord,
)
from . import channels
from .errors import (
    ChannelInUse,
    InvalidNotificationInput,
    NotificationError,
    NotificationForbidden,
    NotificationNotFound,
    NotificationsUnavailable,
    TestSendFailed,
    TooManyRecords,
)
from .models import EVENTS, ChannelPublic, SubscriptionPublic
from .sealing import SealBroken, Sealer

MIN_STALLED_AFTER_SECONDS = 60
MAX_STALLED_AFTER_SECONDS = 7 * 86400
TEST_SEND_EVERY_SECONDS = 5.0
UPDATE_ATTEMPTS = 3
REFUSALS: dict[str, type[NotificationError]] = {
    store.ERR_INVALID: InvalidNotificationInput, store.ERR_NOT_FOUND: NotificationNotFound,
    store.ERR_IN_USE: ChannelInUse, store.ERR_LIMIT: TooManyRecords,
}
"""The store's refusals (ApplicationError types) and the errors they are answered with."""
UNAVAILABLE = "notifications are unavailable: Temporal or the console's worker did not answer in time; try again"
_PREFIX_PATTERN = re.compile(r"^release:[A-Za-z0-9._-]{0,127}\*$")
_NAME_PATTERN = re.compile(r"^[^\x00-\x1f\x7f]{1,80}$")

ChangeListener = Callable[["NotificationsService"], None]
ReleaseExists = Callable[[str], Awaitable[bool]]


def _channel_fields(record: ChannelRecord) -> dict[str, object]:
    """What a channel's seal is bound to: every field but the sealed URL."""
    fields = asdict(record)
    del fields["sealed_url"]
    return fields


def _delivery_fields(channel_id: str, message: Message) -> dict[str, object]:
    return {"channel": channel_id, "title": message.title, "text": message.text, "document": message.document,
            "failure": message.failure}


def _subscription_fields(record: SubscriptionRecord) -> dict[str, object]:
    fields = asdict(record)
    del fields["signature"]
    return fields


class SubscriptionIndex:
    """Subscriptions by the releases they name: exact ids, prefixes and "*"."""

    def __init__(self, subscriptions: Iterable[SubscriptionRecord]) -> None:
        self.exact: dict[str, list[SubscriptionRecord]] = defaultdict(list)
        self.prefixed: dict[str, list[SubscriptionRecord]] = defaultdict(list)
        self.everything: list[SubscriptionRecord] = []
        self.events: set[str] = set()
        for sub in subscriptions:
            self.events.update(sub.events)
            if sub.release == "*":
                self.everything.append(sub)
            elif sub.release.endswith("*"):
                self.prefixed[sub.release[:-1]].append(sub)
            else:
                self.exact[sub.release].append(sub)

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixed or self.everything)

    def matching(self, release_id: str) -> list[SubscriptionRecord]:
        """Every subscription that names this release."""
        found = list(self.exact.get(release_id, ()))
        found.extend(self.everything)
        if self.prefixed:  # each prefix of the id looked up: cost by the id's length, not the subscriptions
            for end in range(len("release:"), len(release_id) + 1):
                found.extend(self.prefixed.get(release_id[:end], ()))
        return found


class NotificationsService:
    """Channels and subscriptions for one console process."""

    def __init__(self, client: Client, settings: Settings, release_exists: ReleaseExists) -> None:
        self.client = for_namespace(client, accounts_namespace(settings))
        self.settings = settings
        self.release_exists = release_exists
        self.sealer = Sealer(settings.SECRET_KEY.get_secret_value())
        self.allowed_schemes = frozenset(settings.notification_schemes)
        self.channels: dict[str, ChannelRecord] = {}
        self.subscriptions: dict[str, SubscriptionRecord] = {}
        self.index = SubscriptionIndex(())
        self.version = -1
        self.loaded = asyncio.Event()
        self.queries = 0
        self._skipped: set[str] = set()
        self._tested_at: dict[str, float] = {}
        self._listeners: Listeners[ChangeListener] = Listeners("notification records")
        self._rpc_timeout = timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
        self._task: asyncio.Task | None = None

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start (or attach to) the workflow and load it; when Temporal does not answer, keep trying meanwhile."""
        try:
            await self._ensure_started()
            await self.refresh(force=True)
        except NotificationsUnavailable as exc:
            logger.warning("notification settings not loaded yet ({}); retrying", exc)
        self._task = asyncio.create_task(self._poll(), name="notifications-poll")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def add_listener(self, callback: ChangeListener) -> Callable[[], None]:
        """Call ``callback(service)`` after each change of the records; returns the unsubscribe."""
        return self._listeners.add(callback)

    async def _ensure_started(self) -> None:
        try:
            await self.client.start_workflow(
                NotificationsWorkflow.run, NotificationsInput(), id=self.settings.NOTIFICATIONS_WORKFLOW_ID,
                task_queue=self.settings.NOTIFICATIONS_TASK_QUEUE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, rpc_timeout=self._rpc_timeout,
            )
        except (RPCError, RuntimeError) as exc:
            raise NotificationsUnavailable(UNAVAILABLE) from exc

    async def _poll(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.settings.ACCOUNTS_REFRESH_SECONDS)
            try:
                if not self.loaded.is_set():
                    await self._ensure_started()
                await self.refresh()
                failing = False
            except NotificationsUnavailable as exc:
                if cancelling():  # the error is a cancelled call: this task is being stopped
                    raise asyncio.CancelledError from None
                if not failing:
                    logger.warning("notification settings refresh failed: {}", exc.message)
                failing = True

    async def refresh(self, *, force: bool = False) -> None:
        """Reload the records if the workflow's version changed (one small query; a second one only on change)."""
        handle = self.client.get_workflow_handle(self.settings.NOTIFICATIONS_WORKFLOW_ID)
        try:
            snapshot = await snapshot_if_changed(handle, store.QUERY_VERSION, store.QUERY_SNAPSHOT,
                                             NotificationsSnapshot, self.version, force=force,
                                             rpc_timeout=self._rpc_timeout,
                                             on_query=self._count_query)
            if snapshot is not None:
                self._apply(snapshot)
        except Exception as exc:  # query failures of every kind (no worker, RPC timeout, not found)
            raise NotificationsUnavailable(UNAVAILABLE) from exc

    def _count_query(self) -> None:
        self.queries += 1

    def _apply(self, snapshot: NotificationsSnapshot) -> None:
        if snapshot.version < self.version:
            return
        self.channels = {c.id: c for c in snapshot.channels if self._channel_trusted(c)}
        self.subscriptions = {s.id: s for s in snapshot.subscriptions if self._subscription_trusted(s)}
        self.index = SubscriptionIndex(self.subscriptions.values())
        self.version = snapshot.version
        self.loaded.set()
        self._listeners.notify(self)

    def _channel_trusted(self, record: ChannelRecord) -> bool:
        if self.channels.get(record.id) == record:  # checked when it was loaded: unchanged since
            return True
        try:
            self.sealer.open(record.sealed_url, _channel_fields(record))
        except SealBroken:
            self._skip("channel", record.id)
            return False
        return True

    def _subscription_trusted(self, record: SubscriptionRecord) -> bool:
        if self.subscriptions.get(record.id) == record:
            return True
        if self.sealer.verify(_subscription_fields(record), record.signature):
            return True
        self._skip("subscription", record.id)
        return False

    def _skip(self, kind: str, record_id: str) -> None:
        if record_id not in self._skipped:
            self._skipped.add(record_id)
            logger.warning("notification {} {} is ignored: it was not written by a console with this SECRET_KEY",
                           kind, record_id[:16])

    # ---- reads (memory only) ---------------------------------------------------------------------
    def _require_loaded(self) -> None:
        if not self.loaded.is_set():
            raise NotificationsUnavailable(UNAVAILABLE, retry_after=5)

    def _visible(self, principal: Principal, record: ChannelRecord) -> bool:
        return record.owner is None or record.owner == principal.username

    def list_channels(self, principal: Principal) -> list[ChannelPublic]:
        """Shared channels and the caller's personal ones."""
        self._require_loaded()
        return [self._channel_public(c) for c in self.channels.values() if self._visible(principal, c)]

    def get_channel(self, principal: Principal, channel_id: str) -> ChannelPublic:
        return self._channel_public(self._channel(principal, channel_id))

    def channel_name(self, channel_id: str) -> str | None:
        record = self.channels.get(channel_id)
        return record.name if record is not None else None

    def internal_allowed(self, channel_id: str) -> bool:
        """Whether a channel may reach internal addresses: shared ones (admins made them) always, personal ones
        only with NOTIFY_PRIVATE_ADDRESSES (or in local mode)."""
        record = self.channels.get(channel_id)
        return self.settings.notify_private_addresses or (record is not None and record.owner is None)

    def delivery_signature(self, channel_id: str, message: Message) -> str:
        """What proves a delivery was asked for by a console (the send activity refuses others)."""
        return self.sealer.sign(_delivery_fields(channel_id, message))

    def delivery_signed(self, channel_id: str, message: Message, signature: str) -> bool:
        """Whether ``signature`` is a console's :meth:`delivery_signature` of exactly this delivery."""
        return self.sealer.verify(_delivery_fields(channel_id, message), signature)

    def channel_url(self, channel_id: str) -> str:
        """The real URL of a channel (for sending only; never shown or logged); NotificationNotFound when gone."""
        record = self.channels.get(channel_id)
        if record is None:
            raise NotificationNotFound("the channel no longer exists")
        return self.sealer.open(record.sealed_url, _channel_fields(record))

    def list_subscriptions(self, principal: Principal) -> list[SubscriptionPublic]:
        """The caller's subscriptions."""
        self._require_loaded()
        return [self._subscription_public(s) for s in self.subscriptions.values() if s.owner == principal.username]

    def watching(self, principal: Principal, release_id: str) -> SubscriptionPublic | None:
        """The caller's subscription to exactly this release (the release page's Watch toggle), if any."""
        for sub in self.index.exact.get(release_id, ()):
            if sub.owner == principal.username:
                return self._subscription_public(sub)
        return None

    def watchers(self, release_id: str) -> set[str]:
        """Users with a subscription that names this release."""
        return {sub.owner for sub in self.index.matching(release_id)}

    def _channel(self, principal: Principal, channel_id: object) -> ChannelRecord:
        self._require_loaded()
        record = self.channels.get(channel_id) if isinstance(channel_id, str) else None
        if record is None or not self._visible(principal, record):
            raise NotificationNotFound(f"no channel {str(channel_id)[:40]!r}")
        return record

    def _channel_public(self, record: ChannelRecord) -> ChannelPublic:
        return ChannelPublic(id=record.id, name=record.name, scope="shared" if record.owner is None else "personal",
                             owner=record.owner, kind=record.kind, url=record.masked_url,
                             created_at=record.created_at, created_by=record.created_by)

    def _subscription_public(self, record: SubscriptionRecord) -> SubscriptionPublic:
        return SubscriptionPublic(
            id=record.id, owner=record.owner, release=record.release, events=list(record.events),
            channel=record.channel, channel_name=self.channel_name(record.channel) if record.channel else None,
            stalled_after_seconds=record.stalled_after_seconds, created_at=record.created_at)

    # ---- writes ----------------------------------------------------------------------------------
    async def create_channel(self, principal: Principal, name: object, url: object, *,
                             shared: bool = False) -> ChannelPublic:
        """A new channel: shared (admins only) or the caller's personal one. The URL is checked, sealed, masked."""
        self._require_loaded()
        if shared and not principal.is_admin:
            raise NotificationForbidden("only admins create shared channels")
        name = _check_name(name)
        try:
            checked = channels.check_url(url, self.allowed_schemes)
        except channels.InvalidChannelUrl as exc:
            raise InvalidNotificationInput(str(exc)) from None
        owner = None if shared else principal.username
        if owner is not None and sum(1 for c in self.channels.values() if c.owner == owner) >= MAX_PERSONAL_CHANNELS:
            raise TooManyRecords(f"at most {MAX_PERSONAL_CHANNELS} personal channels per user")
        if owner is not None and not self.settings.notify_private_addresses:
            assert isinstance(url, str)
            refusal = await asyncio.to_thread(channels.internal_address, url.strip())
            if refusal is not None:
                raise InvalidNotificationInput(refusal)
        record = ChannelRecord(id=secrets.token_hex(8), name=name, owner=owner, kind=checked.kind,
                               masked_url=checked.masked, sealed_url="", created_at=_now(),
                               created_by=principal.username)
        assert isinstance(url, str)
        record.sealed_url = self.sealer.seal(url.strip(), _channel_fields(record))
        await self._update(store.UPDATE_PUT_CHANNEL, record, f"put-{record.id}")
        _audit(principal, "notifications.channel.create", record.id, kind=record.kind,
               scope="shared" if shared else "personal")
        return self._channel_public(record)

    async def delete_channel(self, principal: Principal, channel_id: str) -> None:
        record = self._channel(principal, channel_id)
        if record.owner is None and not principal.is_admin:
            raise NotificationForbidden("only admins delete shared channels")
        await self._update(store.UPDATE_DELETE_CHANNEL, RecordRef(record.id), f"delete-{record.id}")
        _audit(principal, "notifications.channel.delete", record.id)

    async def test_channel(self, principal: Principal, channel_id: str) -> None:
        """Send a test message now (at most one per channel every few seconds); TestSendFailed with the reason."""
        record = self._channel(principal, channel_id)
        loop = asyncio.get_running_loop()
        if loop.time() - self._tested_at.get(record.id, -1e9) < TEST_SEND_EVERY_SECONDS:
            raise TooManyRecords("a test was just sent to this channel; wait a few seconds")
        self._tested_at[record.id] = loop.time()
        message = Message(title="Release Console: test message",
                          text=f"This channel ({record.name}) receives Release Console notifications.",
                          document={"event": "test", "channel": record.name, "sent_by": principal.username})
        result = await channels.send(self.channel_url(record.id), message,
                                     allow_internal=self.internal_allowed(record.id))
        _audit(principal, "notifications.channel.test", record.id, outcome="ok" if result.delivered else "failed")
        if not result.delivered:
            raise TestSendFailed(f"the test message was not delivered: {result.reason}")

    async def create_subscription(self, principal: Principal, release: object, events: object,
                                  channel: object = None, stalled_after_seconds: object = None) -> SubscriptionPublic:
        """A subscription of the caller: a release id (which must exist), "*" or a prefix ending in "*"."""
        self._require_loaded()
        pattern = await self._check_release(release)
        chosen = _check_events(events)
        if channel is not None:
            self._channel(principal, channel)
        stalled = _check_stalled(stalled_after_seconds, self.settings.NOTIFY_STALLED_MIN_SECONDS)
        if sum(1 for s in self.subscriptions.values() if s.owner == principal.username) >= MAX_SUBSCRIPTIONS_PER_USER:
            raise TooManyRecords(f"at most {MAX_SUBSCRIPTIONS_PER_USER} subscriptions per user")
        record = SubscriptionRecord(id=secrets.token_hex(8), owner=principal.username, release=pattern,
                                    events=chosen, channel=channel if isinstance(channel, str) else None,
                                    created_at=_now(), signature="", stalled_after_seconds=stalled)
        record.signature = self.sealer.sign(_subscription_fields(record))
        await self._update(store.UPDATE_PUT_SUBSCRIPTION, record, f"put-{record.id}")
        _audit(principal, "notifications.subscription.create", record.id, release=pattern)
        return self._subscription_public(record)

    async def delete_subscription(self, principal: Principal, subscription_id: str) -> None:
        self._require_loaded()
        record = self.subscriptions.get(subscription_id)
        if record is None or record.owner != principal.username:
            raise NotificationNotFound(f"no subscription {subscription_id[:40]!r}")
        await self._update(store.UPDATE_DELETE_SUBSCRIPTION, RecordRef(record.id), f"delete-{record.id}")
        _audit(principal, "notifications.subscription.delete", record.id)

    async def _check_release(self, release: object) -> str:
        if release == "*":
            return "*"
        if isinstance(release, str) and release.endswith("*"):
            if not _PREFIX_PATTERN.match(release):
                raise InvalidNotificationInput('a prefix is "release:" and id characters (A-Z a-z 0-9 . _ -) '
                                               'ending in "*"')
            return release
        try:
            release_id = str(EntityId.parse(release, expected=EntityType.RELEASE))
        except InvalidEntityId as exc:
            raise InvalidNotificationInput(f'release must be "*", a release id or a prefix ending in "*": {exc}') \
                from None
        if not await self.release_exists(release_id):
            raise NotificationNotFound(f"release {release_id} not found")
        return release_id

    async def _update(self, name: str, arg: object, update_id: str) -> None:
        """Apply one change; ``update_id`` makes a retried change (after a timeout, or an Update no worker took)
        apply at most once."""
        handle = self.client.get_workflow_handle(self.settings.NOTIFICATIONS_WORKFLOW_ID)
        for attempt in range(UPDATE_ATTEMPTS):
            try:
                snapshot = await handle.execute_update(name, arg, id=update_id, result_type=NotificationsSnapshot,
                                                       rpc_timeout=self._rpc_timeout)
            except WorkflowUpdateFailedError as exc:
                cause = exc.cause
                if isinstance(cause, ApplicationError) and (error := REFUSALS.get(cause.type or "")) is not None:
                    raise error(cause.message) from None
                # not refused by the store: the Update reached no worker that took it (a worker stopping)
                if attempt + 1 < UPDATE_ATTEMPTS:
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                raise NotificationsUnavailable(UNAVAILABLE) from None
            except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, RuntimeError):
                raise NotificationsUnavailable(UNAVAILABLE) from None
            self._apply(snapshot)
            return


def _audit(principal: Principal, action: str, target: str, **fields: Any) -> None:  # Any: as audit.AuditFields
    audit(action, user=principal.username, role=principal.role, target=target, **fields)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_PATTERN.match(name.strip() or "\x00"):
        raise InvalidNotificationInput("name must be 1–80 characters without control characters")
    return name.strip()


def _check_events(events: object) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise InvalidNotificationInput(f"events must be a non-empty list of: {', '.join(EVENTS)}")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidNotificationInput(f"unknown event {unknown[0][:40]!r}; events are: {', '.join(EVENTS)}")
    return [e for e in EVENTS if e in events]


def _check_stalled(value: object, minimum: int = MIN_STALLED_AFTER_SECONDS) -> int | None:
    """``minimum`` is NOTIFY_STALLED_MIN_SECONDS (MIN_STALLED_AFTER_SECONDS unless lowered, by tests)."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not (minimum <= value <= MAX_STALLED_AFTER_SECONDS):
        raise InvalidNotificationInput(f"stalled_after_seconds must be a whole number from {minimum}"
                                       f" to {MAX_STALLED_AFTER_SECONDS}")
    return value
