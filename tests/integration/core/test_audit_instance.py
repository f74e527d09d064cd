"""Audit lines name the console instance that wrote them: INSTANCE_NAME, else <hostname>:<PORT>;
the same line on stdout (what a log shipper reads) and in the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release_console.core.config import Settings, get_settings
from release_console.runtime import audit as audit_module


def test_audit_lines_name_the_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("INSTANCE_NAME", "console-b")
    get_settings.cache_clear()
    try:
        settings = Settings(DATA_DIR=tmp_path)
        assert settings.instance_name == "console-b"
        audit_module.configure(settings)
        audit_module.audit("test.instance", user="alice", role="viewer", target="x")
        audit_module.shutdown()
    finally:
        audit_module._state.pop("instance", None)
        get_settings.cache_clear()
    [line] = (tmp_path / "audit.log").read_text().splitlines()
    assert list(json.loads(line))[:3] == ["time", "instance", "user"]
    assert json.loads(line)["instance"] == "console-b"
    printed = [json.loads(s) for s in capsys.readouterr().out.splitlines() if '"test.instance"' in s]
    assert printed == [json.loads(line)]  # stdout (what a log shipper reads) carries the same line
    monkeypatch.delenv("INSTANCE_NAME")
    assert Settings(DATA_DIR=tmp_path, PORT=8123).instance_name.endswith(":8123")  # default: <hostname>:<PORT>
