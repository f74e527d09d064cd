"""Secrets and inputs: no local variables in logged tracebacks, an atomic signing-key file of a minimum
length, a size cap on decompressed payloads, dependency floors and a constraints file of tested versions."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import timedelta

import httpx
import pytest
from loguru import logger
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.converter import DataConverter, PayloadCodec

from release_console import services as services_module
from release_console.accounts import password_pool
from release_console.temporal.client import DATA_CONVERTER
from release_console.temporal.codec import (
    ENCODING,
    PayloadTooLarge,
)
from tests.helpers import ADMIN_USERNAME
from tests.integration.ui.helpers import accounts_ready
from tests.unit.core.test_secrets import bomb


# --- tracebacks ------------------------------------------------------------------------------------------------
async def test_a_logged_traceback_shows_no_local_variables(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reproduction: the stderr sink used loguru's diagnose=True, so a logged traceback from ``authenticate``
    printed its local variables, the password among them."""
    await accounts_ready()  # the console is up, its log sinks installed
    accounts = services_module.current().accounts
    assert accounts is not None
    password = f"Sup3r-secret-{uuid.uuid4().hex}"

    def broken_verify(plain: str, hashed: str) -> bool:
        raise RuntimeError("bcrypt backend exploded")

    monkeypatch.setattr(password_pool, "verify_password", broken_verify)
    try:
        await accounts.authenticate(ADMIN_USERNAME, password, "127.0.0.1")
    except RuntimeError:
        logger.exception("login crashed")
    logger.complete()
    err = capsys.readouterr().err
    assert "login crashed" in err and "bcrypt backend exploded" in err  # the traceback is still logged...
    assert password not in err  # ...without the values of local variables


# --- the signing-key file ----------------------------------------------------------------------------------------








# --- the zlib codec ------------------------------------------------------------------------------------------------




async def test_a_zlib_bomb_stored_in_temporal_is_refused_when_read(client: Client, settings, unique: str) -> None:
    """A workflow input written by someone else's client (no codec, so nothing checks it) is a 65 KiB payload that
    Temporal stores as is; the console's data converter refuses to expand it instead of allocating 65 MiB."""
    class Bomber(PayloadCodec):
        async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
            return [bomb() for _ in payloads]

        async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
            return list(payloads)

    raw = await Client.connect(settings.temporal_address, namespace=settings.TEMPORAL_NAMESPACE,
                               data_converter=dataclasses.replace(DataConverter.default, payload_codec=Bomber()))
    workflow_id = f"codec-bomb-{unique}"
    handle = await raw.start_workflow("NoSuchWorkflow", "anything", id=workflow_id,
                                      task_queue=f"nobody-{uuid.uuid4().hex}", rpc_timeout=timedelta(seconds=10))
    try:
        history = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(namespace=client.namespace,
                                               execution=WorkflowExecution(workflow_id=workflow_id)),
            timeout=timedelta(seconds=10),
        )
        started = next(e for e in history.history.events
                       if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
        [stored] = started.workflow_execution_started_event_attributes.input.payloads
        assert stored.metadata["encoding"] == ENCODING and stored.ByteSize() < 200 * 1024
        with pytest.raises(PayloadTooLarge):
            await DATA_CONVERTER.decode([stored], [str])
    finally:
        await handle.terminate()


# --- dependencies ----------------------------------------------------------------------------------------------------




