"""ACCOUNTS_NAMESPACE: the accounts workflow in a namespace of its own, on the real Temporal server.

The namespace is registered through the workflow service (as an operator would); a real ``release-console worker``
process serves it, and the console under test (main.py, as NiceGUI's ``user`` fixture runs it) logs in through it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf.duration_pb2 import Duration
from loguru import logger
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user_simulation import user_simulation
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from release_console import services as services_module
from release_console.accounts.errors import AccountsUnavailable
from release_console.accounts.service import AccountsService
from release_console.core.config import get_settings
from release_console.temporal.client import for_namespace
from release_console.temporal.embedded import command
from release_console.workflows.accounts import WORKFLOW_TYPE
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, login, stop_process

LOGIN = "/api/v1/login/access-token"


@pytest.fixture
async def accounts_namespace(client: Client, unique: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A fresh namespace for the accounts, set (with its own workflow id) in the environment of what starts next."""
    namespace = f"accounts-{unique}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400))
    )
    monkeypatch.setenv("ACCOUNTS_NAMESPACE", namespace)
    monkeypatch.setenv("ACCOUNTS_WORKFLOW_ID", f"accounts-ns-{unique}")
    get_settings.cache_clear()
    yield namespace
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def namespace_worker(accounts_namespace: str, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """``release-console worker`` with ACCOUNTS_NAMESPACE set: releases here, accounts there."""
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "release_console", "worker"], stdout=log,
                               stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        yield process
    finally:
        stop_process(process)
        log.close()


@pytest.fixture
async def namespace_api(namespace_worker: subprocess.Popen, request: pytest.FixtureRequest) -> AsyncIterator:
    """The console app (main.py) started with ACCOUNTS_NAMESPACE set."""
    async with user_simulation(main_file=get_path_to_main_file(request)) as simulated:
        yield simulated.http_client


async def admin_login_when_ready(api: httpx.AsyncClient, worker: subprocess.Popen) -> dict[str, str]:
    """The first admin's headers once the console has loaded its users (503 until the new worker answers)."""
    for _ in range(150):
        response = await api.post(LOGIN, data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
        if response.status_code != 503:
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}
        assert worker.poll() is None, "the worker exited"
        await asyncio.sleep(0.2)
    raise AssertionError("accounts never loaded")


async def test_accounts_in_their_own_namespace(
    namespace_api: httpx.AsyncClient, namespace_worker: subprocess.Popen, accounts_namespace: str, client: Client,
    unique: str,
) -> None:
    settings = get_settings()
    assert accounts_namespace == settings.ACCOUNTS_NAMESPACE != client.namespace == settings.TEMPORAL_NAMESPACE
    admin = await admin_login_when_ready(namespace_api, namespace_worker)
    accounts = services_module.current().accounts
    assert accounts is not None and accounts.client.namespace == accounts_namespace
    workflow_id = settings.ACCOUNTS_WORKFLOW_ID
    described = await for_namespace(client, accounts_namespace).get_workflow_handle(workflow_id).describe()
    assert described.workflow_type == WORKFLOW_TYPE
    with pytest.raises(RPCError) as missing:  # nothing of it in the releases' namespace
        await client.get_workflow_handle(workflow_id).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    name = f"ns-viewer-{unique}"
    created = await namespace_api.post("/api/v1/users", json={"username": name, "password": "ns-password-1"},
                                       headers=admin)
    assert created.status_code == 201, created.text
    viewer = await login(namespace_api, name, "ns-password-1")
    assert (await namespace_api.get("/api/v1/users/me", headers=viewer)).json()["username"] == name
    # the releases keep working from the releases' namespace
    assert (await namespace_api.get("/api/v1/releases?limit=1", headers=admin)).status_code == 200


def test_the_embedded_server_creates_the_accounts_namespace(tmp_path: Path) -> None:
    settings = get_settings()
    separate = settings.model_copy(update={"ACCOUNTS_NAMESPACE": "console-accounts"})
    args = command(separate, 7233, tmp_path)
    assert [args[i + 1] for i, a in enumerate(args) if a == "--namespace"] == [settings.TEMPORAL_NAMESPACE,
                                                                              "console-accounts"]
    same = settings.model_copy(update={"ACCOUNTS_NAMESPACE": settings.TEMPORAL_NAMESPACE})
    assert command(same, 7233, tmp_path).count("--namespace") == 1


async def test_a_missing_accounts_namespace_is_named_in_the_error(
    client: Client, unique: str, tmp_path: Path
) -> None:
    settings = get_settings().model_copy(update={
        "ACCOUNTS_NAMESPACE": f"no-such-namespace-{unique}", "DATA_DIR": tmp_path, "ACCOUNTS_REFRESH_SECONDS": 0.2,
    })
    accounts = AccountsService(client, settings)
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m)), level="ERROR")
    try:
        await accounts.start()  # start-up goes on (the namespace may be created later) and says why
        assert not accounts.loaded.is_set()
        assert any(f"no namespace 'no-such-namespace-{unique}'" in m for m in messages), messages
        with pytest.raises(AccountsUnavailable):
            await accounts.authenticate("admin", "whatever-password-1", None)
    finally:
        logger.remove(sink)
        await accounts.stop()
