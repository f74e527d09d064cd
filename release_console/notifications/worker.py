"""The console's own worker: its channel store, its deliveries and the send activity, on NOTIFICATIONS_TASK_QUEUE.

Every console instance runs one, so a delivery started before a restart is finished by whichever instance polls
first. The send runs here because only a console holds the key that opens a channel's URL.
"""

from __future__ import annotations

from loguru import logger
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import Worker

from ..core.config import Settings
from ..temporal.client import accounts_namespace, for_namespace
from ..workflows.delivery import PERMANENT, SEND_ACTIVITY, NotificationDelivery, SendRequest
from ..workflows.notifications import NotificationsWorkflow
from . import channels
from .errors import NotificationNotFound, NotificationsUnavailable
from .service import NotificationsService

RETRY = "retry"
MAX_SENDS_AT_ONCE = 2 * channels.SEND_THREADS
"""Send activities one console runs at once (each waits for one of the send threads)."""
LOG_EVERY_ATTEMPTS = 10


class Sender:
    """The send activity: opens the channel's URL and hands the message to Apprise."""

    def __init__(self, service: NotificationsService) -> None:
        self.service = service

    @activity.defn(name=SEND_ACTIVITY)
    async def send(self, request: SendRequest) -> None:
        """Deliver, or fail: for good when the receiver refused the message or the channel is gone.

        A receiver that fails is expected, not a fault of the console: the failure is BENIGN (the SDK then logs it
        at DEBUG instead of a WARNING with a traceback per attempt) and told here in one line, at the first attempt
        and every LOG_EVERY_ATTEMPTS after; the outcome is in the delivery's memo."""
        url = await self._url(request.channel_id)
        if not self.service.delivery_signed(request.channel_id, request.message, request.signature):
            raise ApplicationError("the delivery was not asked for by a console (no valid signature)",
                                   type=PERMANENT, non_retryable=True, category=ApplicationErrorCategory.BENIGN)
        result = await channels.send(url, request.message,
                                     allow_internal=self.service.internal_allowed(request.channel_id))
        if result.delivered:
            return
        attempt = activity.info().attempt
        if result.permanent or attempt % LOG_EVERY_ATTEMPTS == 1:
            logger.log("WARNING" if result.permanent else "INFO",
                       "notification {} to channel {} not delivered (attempt {}, {}): {}",
                       request.message.title, request.channel_id, attempt,
                       "given up" if result.permanent else "retrying", result.reason)
        raise ApplicationError(result.reason, type=PERMANENT if result.permanent else RETRY,
                               non_retryable=result.permanent, category=ApplicationErrorCategory.BENIGN)

    async def _url(self, channel_id: str) -> str:
        try:
            if channel_id not in self.service.channels:
                await self.service.refresh(force=True)  # created on another instance a moment ago?
            return self.service.channel_url(channel_id)
        except NotificationsUnavailable:
            raise ApplicationError("the channel store did not answer; retrying", type=RETRY,
                                   category=ApplicationErrorCategory.BENIGN) from None
        except NotificationNotFound:
            raise ApplicationError("the channel was deleted", type=PERMANENT, non_retryable=True,
                                   category=ApplicationErrorCategory.BENIGN) from None


def build_notifications_worker(client: Client, settings: Settings, service: NotificationsService) -> Worker:
    """A worker for the console's own workflows in the accounts namespace."""
    return Worker(
        for_namespace(client, accounts_namespace(settings)),
        task_queue=settings.NOTIFICATIONS_TASK_QUEUE,
        workflows=[NotificationsWorkflow, NotificationDelivery],
        activities=[Sender(service).send],
        max_concurrent_activities=MAX_SENDS_AT_ONCE,
    )
