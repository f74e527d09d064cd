"""Deliveries: starting one NotificationDelivery workflow per event and channel, and reading back how they went.

The workflow id is a hash of (channel, release, run, event, marker): every console instance that sees an event
derives the same id, Temporal refuses the second start, and the message is sent once. Recent deliveries come from
one visibility listing shared by every reader for a few seconds (their outcome is in each workflow's memo).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta

from loguru import logger
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from ..accounts.models import Principal
from ..core.config import Settings
from ..temporal.client import accounts_namespace, for_namespace
from ..workflows.delivery import OUTCOME_FAILED, DeliveryInput, Message, NotificationDelivery
from ..workflows.delivery import WORKFLOW_TYPE as DELIVERY_TYPE
from .errors import NotificationsUnavailable
from .models import DeliveryPublic
from .service import NotificationsService

ID_PREFIX = "rc-notify-"
RECENT_LIMIT = 500
"""Deliveries read back for the Notifications pages (newest first, all users; each page keeps its caller's)."""
RECENT_TTL_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """What makes a delivery unique: the same key from any console instance names the same workflow."""

    channel: str
    release: str
    run: str
    event: str
    marker: str

    @property
    def workflow_id(self) -> str:
        text = "|".join((self.channel, self.release, self.run, self.event, self.marker))
        return ID_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:40]


class DeliveryLog:
    """Starts deliveries (once per key) and lists recent ones."""

    def __init__(self, client: Client, settings: Settings, service: NotificationsService) -> None:
        self.client = for_namespace(client, accounts_namespace(settings))
        self.settings = settings
        self.service = service
        self.started = 0
        self.duplicates = 0
        self._rpc_timeout = timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
        self._recent: tuple[float, list[DeliveryPublic]] | None = None
        self._listing: asyncio.Task[list[DeliveryPublic]] | None = None

    async def start(self, key: DeliveryKey, message: Message) -> bool:
        """Start the delivery; False when some console already started it. Raises NotificationsUnavailable."""
        memo = {"release": key.release, "event": key.event, "channel": key.channel,
                "channel_name": self.service.channel_name(key.channel) or "", "title": message.title[:200]}
        try:
            await self.client.start_workflow(
                NotificationDelivery.run,
                DeliveryInput(key.channel, message, give_up_seconds=self.settings.NOTIFY_GIVE_UP_SECONDS,
                              max_retry_interval_seconds=self.settings.NOTIFY_RETRY_MAX_SECONDS,
                              signature=self.service.delivery_signature(key.channel, message)),
                id=key.workflow_id, task_queue=self.settings.NOTIFICATIONS_TASK_QUEUE,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                memo=memo, rpc_timeout=self._rpc_timeout,
            )
        except WorkflowAlreadyStartedError:
            self.duplicates += 1
            logger.info("notification {} for {} to channel {} was already started (by another console or before "
                        "a restart): {}", key.event, key.release, key.channel, key.workflow_id)
            return False
        except (RPCError, RuntimeError) as exc:
            raise NotificationsUnavailable(f"a delivery could not be started: {type(exc).__name__}") from exc
        self.started += 1
        logger.info("notification {} for {} to channel {} started: {}", key.event, key.release, key.channel,
                    key.workflow_id)
        return True

    async def recent(self, principal: Principal, limit: int = 50) -> list[DeliveryPublic]:
        """The caller's recent deliveries: to their personal channels and to channels their subscriptions use."""
        mine = {c.id for c in self.service.channels.values() if c.owner == principal.username}
        mine.update(s.channel for s in self.service.subscriptions.values()
                    if s.owner == principal.username and s.channel)
        found: list[DeliveryPublic] = []
        for delivery in await self._deliveries():
            if delivery.channel in mine:
                found.append(delivery)
                if len(found) >= limit:
                    break
        return found

    async def _deliveries(self) -> list[DeliveryPublic]:
        """The newest deliveries of every user, read and decoded once per RECENT_TTL_SECONDS for all callers."""
        now = time.monotonic()
        if self._recent is not None and now - self._recent[0] < RECENT_TTL_SECONDS:
            return self._recent[1]
        if self._listing is None or self._listing.done():
            self._listing = asyncio.create_task(self._list())
        deliveries = await asyncio.shield(self._listing)
        self._recent = (time.monotonic(), deliveries)
        return deliveries

    async def _list(self) -> list[DeliveryPublic]:
        try:
            executions = [execution async for execution in self.client.list_workflows(
                f"WorkflowType = '{DELIVERY_TYPE}'", limit=RECENT_LIMIT, page_size=RECENT_LIMIT,
                rpc_timeout=self._rpc_timeout)]
        except (RPCError, RuntimeError) as exc:
            raise NotificationsUnavailable("recent deliveries could not be read; try again") from exc
        converter = self.client.data_converter.payload_converter

        def decode() -> list[DeliveryPublic]:  # hundreds of memos: in a thread, not on the event loop
            return [_public(e, {key: converter.from_payload(value) for key, value in e.raw_info.memo.fields.items()})
                    for e in executions]

        return await asyncio.to_thread(decode)


def _public(execution: WorkflowExecution, memo: dict) -> DeliveryPublic:
    outcome = memo.get("outcome")
    if outcome == OUTCOME_FAILED or execution.status in (
            WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TERMINATED, WorkflowExecutionStatus.TIMED_OUT,
            WorkflowExecutionStatus.CANCELED):
        status = "failed"
    elif execution.status == WorkflowExecutionStatus.COMPLETED:
        status = "delivered"
    else:
        status = "sending"
    reason = memo.get("reason") if status == "failed" else None
    if status == "failed" and not reason and execution.status is not None:
        reason = f"the delivery workflow was {execution.status.name.lower()}"
    return DeliveryPublic(
        id=execution.id, release=str(memo.get("release", "")), event=str(memo.get("event", "")),
        channel=str(memo.get("channel", "")), channel_name=str(memo.get("channel_name", "")), status=status,
        reason=reason, started_at=execution.start_time.isoformat() if execution.start_time else None,
        finished_at=execution.close_time.isoformat() if execution.close_time else None,
    )
