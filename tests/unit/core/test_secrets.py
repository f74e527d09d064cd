"""Secrets and supply chain without a server: the key file, zlib bombs, dependency floors, pinned versions."""

from __future__ import annotations

import re
import stat
import threading
import tomllib
import zlib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from temporalio.api.common.v1 import Payload

from release_console.core import config as config_module
from release_console.core.config import MIN_SECRET_LENGTH, SecretFileError, read_or_create_secret
from release_console.temporal.codec import (
    ENCODING,
    MAX_DECOMPRESSED,
    CorruptPayload,
    LargePayloadCodec,
    PayloadTooLarge,
)
from tests.helpers import REPO_ROOT


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def bomb(size: int = MAX_DECOMPRESSED + 1024 * 1024) -> Payload:
    """A valid, compressed payload of about 65 KiB that expands past the limit."""
    inner = Payload(metadata={"encoding": b"json/plain"}, data=b"0" * size)
    return Payload(metadata={"encoding": ENCODING}, data=zlib.compress(inner.SerializeToString(), 9))


FLOORS = {"nicegui": "3.18", "python-multipart": "0.0.31", "python-jose": "3.4"}


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


def test_dependency_floors_are_past_known_advisories() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    requirements = {Requirement(r).name: Requirement(r) for r in project["project"]["dependencies"]}
    for name, floor in FLOORS.items():
        specifier = requirements[name].specifier
        assert any(s.operator == ">=" and Version(s.version) >= Version(floor) for s in specifier), (name, specifier)


def test_the_constraints_file_pins_the_tested_versions() -> None:
    pins = {}
    for line in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[canonical(name)] = pinned.strip()
    assert "release-console" not in pins and "release_console" not in pins
    for name in ("nicegui", "temporalio", "fastapi", "starlette", "python-multipart", "python-jose", "pytest"):
        assert pins[name] == version(name), name  # what the tests run on
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    for requirement in map(Requirement, project["project"]["dependencies"]):
        assert requirement.specifier.contains(pins[canonical(requirement.name)]), requirement  # consistent floors
    setup = (REPO_ROOT / "scripts" / "setup.sh").read_text()
    assert "-c constraints.txt" in setup and "constraints.txt | sha256sum" in setup








