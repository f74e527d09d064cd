"""Secrets and inputs (issue 9): no local variables in logged tracebacks, an atomic signing-key file of a minimum
length, a size cap on decompressed payloads, dependency floors and a constraints file of tested versions."""

from __future__ import annotations

import dataclasses
import re
import stat
import threading
import tomllib
import uuid
import zlib
from collections.abc import Sequence
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from loguru import logger
from packaging.requirements import Requirement
from packaging.version import Version
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.converter import DataConverter, PayloadCodec

from release_console import services as services_module
from release_console.accounts import service as service_module
from release_console.core import config as config_module
from release_console.core.config import MIN_SECRET_LENGTH, SecretFileError, read_or_create_secret
from release_console.temporal.client import DATA_CONVERTER
from release_console.temporal.codec import (
    ENCODING,
    MAX_DECOMPRESSED,
    CorruptPayload,
    LargePayloadCodec,
    PayloadTooLarge,
)
from tests.conftest import ADMIN_USERNAME
from tests.ui_helpers import accounts_ready

ROOT = Path(__file__).resolve().parent.parent


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


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

    monkeypatch.setattr(service_module, "verify_password", broken_verify)
    try:
        await accounts.authenticate(ADMIN_USERNAME, password, "127.0.0.1")
    except RuntimeError:
        logger.exception("login crashed")
    logger.complete()
    err = capsys.readouterr().err
    assert "login crashed" in err and "bcrypt backend exploded" in err  # the traceback is still logged...
    assert password not in err  # ...without the values of local variables


# --- the signing-key file ----------------------------------------------------------------------------------------
def test_the_secret_key_file_is_private_and_long_enough(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret_key"
    key = read_or_create_secret(path)
    assert len(key) >= MIN_SECRET_LENGTH and path.read_text() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_secret(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary file left behind


@pytest.mark.parametrize("content", ["", "short-key", "x" * (MIN_SECRET_LENGTH - 1)])
def test_a_too_short_secret_key_file_is_refused_with_a_clear_error(tmp_path: Path, content: str) -> None:
    """An empty or short key (e.g. left by a crash of the old non-atomic write) was used as the signing key."""
    path = tmp_path / "secret_key"
    path.write_text(content)
    with pytest.raises(SecretFileError, match=rf"{re.escape(str(path))}.*at least {MIN_SECRET_LENGTH}.*Delete"):
        read_or_create_secret(path)
    assert path.read_text() == content  # nothing changed


def test_a_crash_while_writing_the_key_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret_key"

    def crash(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(config_module.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        read_or_create_secret(path)
    assert list(tmp_path.iterdir()) == []  # not an empty key file that later starts would sign with
    monkeypatch.undo()
    assert len(read_or_create_secret(path)) >= MIN_SECRET_LENGTH


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    keys: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(read_or_create_secret(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and path.read_text() == keys[0]


# --- the zlib codec ------------------------------------------------------------------------------------------------
def bomb(size: int = MAX_DECOMPRESSED + 1024 * 1024) -> Payload:
    """A valid, compressed payload of about 65 KiB that expands past the limit."""
    inner = Payload(metadata={"encoding": b"json/plain"}, data=b"0" * size)
    return Payload(metadata={"encoding": ENCODING}, data=zlib.compress(inner.SerializeToString(), 9))


async def test_a_zlib_bomb_is_refused_with_a_clear_error() -> None:
    payload = bomb()
    assert payload.ByteSize() < 200 * 1024
    with pytest.raises(PayloadTooLarge, match=f"expands past {MAX_DECOMPRESSED} bytes"):
        await LargePayloadCodec().decode([payload])
    with pytest.raises(CorruptPayload, match="truncated"):
        await LargePayloadCodec().decode([Payload(metadata={"encoding": ENCODING}, data=payload.data[:1000])])
    with pytest.raises(CorruptPayload, match="not valid zlib"):
        await LargePayloadCodec().decode([Payload(metadata={"encoding": ENCODING}, data=b"not zlib at all")])
    under = bomb(MAX_DECOMPRESSED - 1024)  # just under the limit still decodes
    [decoded] = await LargePayloadCodec().decode([under])
    assert len(decoded.data) == MAX_DECOMPRESSED - 1024


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
FLOORS = {"nicegui": "3.18", "python-multipart": "0.0.31", "python-jose": "3.4"}


def test_dependency_floors_are_past_known_advisories() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = {Requirement(r).name: Requirement(r) for r in project["project"]["dependencies"]}
    for name, floor in FLOORS.items():
        specifier = requirements[name].specifier
        assert any(s.operator == ">=" and Version(s.version) >= Version(floor) for s in specifier), (name, specifier)


def test_the_constraints_file_pins_the_tested_versions() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[canonical(name)] = pinned.strip()
    assert "release-console" not in pins and "release_console" not in pins
    for name in ("nicegui", "temporalio", "fastapi", "starlette", "python-multipart", "python-jose", "pytest"):
        assert pins[name] == version(name), name  # what the tests run on
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for requirement in map(Requirement, project["project"]["dependencies"]):
        assert requirement.specifier.contains(pins[canonical(requirement.name)]), requirement  # consistent floors
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "-c constraints.txt" in setup and "constraints.txt | sha256sum" in setup
