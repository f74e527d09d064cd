"""NotificationDelivery: one message to one channel, sent once.

The console starts it with an id derived from (channel, release, run, event, marker), so a second start of the same
event (another console instance, a restart) is refused by Temporal. The send is an activity retried with backoff
until ``give_up_seconds``; a permanent failure (the receiver refused the message, the channel is gone) ends it at
once. The outcome is written to the memo (``outcome``, ``reason``), where the Notifications page reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState
from temporalio.exceptions import TimeoutError as ActivityTimeout

WORKFLOW_TYPE = "NotificationDelivery"
SEND_ACTIVITY = "send_notification"
PERMANENT = "permanent"
"""ApplicationError type of a send that must not be retried."""
OUTCOME_DELIVERED = "delivered"
OUTCOME_FAILED = "failed"
MAX_REASON = 500


@dataclass
class Message:
    """What a notification says: ``text`` for chat and e-mail, ``document`` (the same content) for webhooks."""

    title: str
    text: str
    # Any: JSON the Temporal converter rebuilds by this hint (no contract import in this sandboxed workflow)
    document: dict[str, Any] = field(default_factory=dict)
    failure: bool = False


@dataclass
class SendRequest:
    channel_id: str
    message: Message
    signature: str = ""


@dataclass
class DeliveryInput:
    channel_id: str
    message: Message
    give_up_seconds: float = 86400.0
    max_retry_interval_seconds: float = 15.0
    signature: str = ""
    """A console's signature over channel and message: the send activity refuses a delivery without it."""


@workflow.defn(name=WORKFLOW_TYPE)
class NotificationDelivery:
    """Sends one message, retrying until it is delivered, refused for good, or too old."""

    @workflow.run
    async def run(self, input: DeliveryInput) -> str:
        try:
            await workflow.execute_activity(
                SEND_ACTIVITY,
                SendRequest(input.channel_id, input.message, input.signature),
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(seconds=input.give_up_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=input.max_retry_interval_seconds),
                    non_retryable_error_types=[PERMANENT],
                ),
            )
        except ActivityError as exc:
            workflow.upsert_memo({"outcome": OUTCOME_FAILED, "reason": _reason(exc)[:MAX_REASON],
                                  "finished_at": workflow.now().isoformat()})
            return OUTCOME_FAILED
        workflow.upsert_memo({"outcome": OUTCOME_DELIVERED, "finished_at": workflow.now().isoformat()})
        return OUTCOME_DELIVERED


def _reason(exc: ActivityError) -> str:
    """Why the send failed for good: the receiver's refusal, or (give_up_seconds passed) the last attempt's reason."""
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        gave_up = exc.retry_state in (RetryState.TIMEOUT, RetryState.MAXIMUM_ATTEMPTS_REACHED)
        return f"{'gave up after retrying; last attempt: ' if gave_up else ''}{cause.message or 'failed'}"
    if isinstance(cause, ActivityTimeout):
        last = cause.cause
        detail = f"; last attempt: {last.message}" if isinstance(last, FailureError) and last.message else ""
        return f"gave up after retrying until its time ran out{detail}"
    text = str(cause or exc)
    if not text and exc.retry_state is not None:
        text = f"gave up: {exc.retry_state.name.lower()}"
    return text or "failed"
