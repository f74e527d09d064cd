"""Notifications against real parts: the session's Temporal dev server and release worker, the console started
in-process (its own notification worker runs inside it), a local webhook and a local SMTP server.

Each test gets a channel store (NotificationsWorkflow) and a notification task queue of its own, so subscriptions
of one test never make deliveries in another (they would cost Temporal calls other tests count).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from release_console.accounts.models import Principal
from release_console.core.config import Settings, get_settings
from release_console.notifications.deliveries import DeliveryLog
from release_console.notifications.dispatcher import Notifier
from release_console.notifications.service import NotificationsService
from release_console.temporal.client import accounts_namespace, connect, for_namespace
from release_console.temporal.releases import build_plan, start_release
from tests.helpers import ADMIN_USERNAME, eventually
from tests.integration.conftest import usable_console
from tests.integration.notifications.receivers import Mailbox, Webhook

ADMIN = Principal(ADMIN_USERNAME, "admin")
PUBLIC_URL = "https://console.example.com"
FAST = {
    "PUBLIC_URL": PUBLIC_URL,
    "NOTIFY_BURST_SECONDS": "3",  # a burst of failures is summed up 3 s (+ a grace) after its first one
    "NOTIFY_RETRY_MAX_SECONDS": "1",  # a receiver that is back is tried again within a second
    "NOTIFY_STALLED_MIN_SECONDS": "1",  # subscriptions may ask for stalls of a few seconds (production: 60 s)
}
"""Settings every console of these tests runs with."""


@dataclass
class Store:
    """The ids that make a test's notifications its own."""

    workflow_id: str
    task_queue: str

    def env(self) -> dict[str, str]:
        return {"NOTIFICATIONS_WORKFLOW_ID": self.workflow_id, "NOTIFICATIONS_TASK_QUEUE": self.task_queue}


@pytest.fixture
async def store(worker_process: subprocess.Popen, console_env: Callable[..., None]) -> AsyncIterator[Store]:
    """A channel store and notification task queue for this test only (set in the console's environment); its
    workflow is terminated after the test."""
    suffix = uuid.uuid4().hex[:8]
    ours = Store(f"notifications-test-{suffix}", f"notifications-test-{suffix}")
    console_env(**ours.env(), **FAST)
    yield ours
    settings = get_settings()
    client = for_namespace(await connect(settings), accounts_namespace(settings))
    with contextlib.suppress(Exception):
        await client.get_workflow_handle(ours.workflow_id).terminate(
            "test over", rpc_timeout=timedelta(seconds=5))


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook().start()
    yield hook
    hook.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@dataclass
class Console:
    """A console started in-process: its running services, its notifier and an HTTP client on its app."""

    services: Any
    notifier: Notifier
    http: httpx.AsyncClient

    @property
    def notifications(self) -> NotificationsService:
        return self.services.notifications

    @property
    def deliveries(self) -> DeliveryLog:
        return self.services.deliveries

    @property
    def settings(self) -> Settings:
        return self.services.settings


@contextlib.asynccontextmanager
async def running_console(request: pytest.FixtureRequest) -> AsyncIterator[Console]:
    """main.py started as the ``user`` fixture does, with the environment set so far, once its channel store is
    loaded; stopped (its notification worker too) on exit."""
    from release_console import services

    async with usable_console(request) as simulated:
        running = services.running()
        await asyncio.wait_for(running.notifications.loaded.wait(), 30)
        notifier = services.current().notifier
        assert notifier is not None
        yield Console(running, notifier, simulated.http_client)


@pytest.fixture
async def console(store: Store, request: pytest.FixtureRequest) -> AsyncIterator[Console]:
    """The console, with this test's channel store and the FAST settings."""
    async with running_console(request) as started:
        yield started


@pytest.fixture
async def writer(worker_process: subprocess.Popen) -> Client:
    """The deployment system's side: a client that starts releases and reports transitions."""
    return await connect(get_settings())


async def new_release(writer: Client, key: str, *, waves: int = 1, clusters: int = 1, apps: int = 2) -> str:
    settings = get_settings()
    plan = build_plan(key, waves, clusters, apps)
    await start_release(writer, settings, plan)
    return plan.id


async def settled(console: Console, timeout: float = 20) -> None:
    """Wait until the console's notifier has handed everything it saw to Temporal and the deliveries it started
    have ended, so that counting messages afterwards counts all of them."""

    async def done() -> bool:
        if console.notifier.busy:
            return False
        for workflow_id in console.notifier.started_ids():
            description = await console.deliveries.client.get_workflow_handle(workflow_id).describe()
            if description.status == WorkflowExecutionStatus.RUNNING:
                return False
        return True

    await eventually(done, timeout=timeout, step=0.2, what="the notifier and its deliveries to settle")
