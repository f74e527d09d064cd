"""Audit values are bounded and repeats aggregated per client (no console)."""

from __future__ import annotations

import json
from pathlib import Path

from release_console.core.config import Settings, get_settings
from release_console.runtime import audit as audit_module
from release_console.runtime.audit import (
    MAX_VALUE,
    REPEAT_WINDOW_SECONDS,
    attempted_username,
    audit_path,
    audit_repeated,
    bounded,
    flush,
)


def entries(settings: Settings | None = None) -> list[dict]:
    flush()
    path = audit_path(settings or get_settings())
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_values_are_bounded_and_repeats_aggregated_per_client(tmp_path: Path) -> None:
    assert bounded("x" * 10) == "x" * 10 and bounded(12345) == 12345
    cut = bounded("y" * 10_000)
    assert len(cut) == MAX_VALUE and cut.endswith("…[10000 chars]")
    assert attempted_username("hunter2-is-my-password", known=False) == "hu…(unknown, 22 chars)"
    assert attempted_username("alice", known=True) == "alice"
    settings = Settings(DATA_DIR=tmp_path)
    audit_module.configure(settings)
    now = [0.0]
    clock, audit_module._repeats.clock = audit_module._repeats.clock, lambda: now[0]
    try:
        for client in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1"):
            audit_repeated("api.auth_failed", user=None, role=None, target="GET /x", outcome="denied", client=client)
        now[0] = REPEAT_WINDOW_SECONDS + 1
        audit_repeated("api.auth_failed", user=None, role=None, target="GET /y", outcome="denied", client="10.0.0.1")
        audit_repeated("api.auth_failed", user=None, role=None, target="GET /z", outcome="denied", client="10.0.0.1")
        audit_module.shutdown()
    finally:
        audit_module._repeats.clock = clock
    written = [(e["client"], e["target"], e.get("repeated")) for e in entries(settings)]
    assert written == [
        ("10.0.0.1", "GET /x", None),
        ("10.0.0.2", "GET /x", None),
        ("10.0.0.1", "GET /y", 3),  # itself and the two held back
        ("10.0.0.1", "GET /z", 1),  # held back, written at the clean stop
    ]




def test_lines_stay_ascii_one_per_event_and_are_found_by_a_non_ascii_user(tmp_path: Path) -> None:
    settings = Settings(DATA_DIR=tmp_path)
    audit_module.configure(settings)
    name = attempted_username("hunter2-is-my-password", known=False)  # "hu…(unknown, 22 chars)": not ASCII
    try:
        audit_module.audit("login.failure", user=name, role=None, target="api\u2028x\x85y", outcome="denied")
        audit_module.audit("login.failure", user="alice", role=None, target="api", outcome="denied", n=3)
        found = audit_module.read_entries(settings, user=name, action="login.")
    finally:
        audit_module.shutdown()
    assert [(e["user"], e["target"]) for e in found] == [(name, "api\u2028x\x85y")]
    text = audit_path(settings).read_text(encoding="utf-8")
    assert text.isascii() and len(text.splitlines()) == 2  # U+2028 and NEL escaped: no reader splits a line
    assert [e["user"] for e in entries(settings)] == [name, "alice"]


def test_new_request_ids_are_distinct_and_well_formed() -> None:
    ids = [audit_module.new_request_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(len(i) == 32 and audit_module.REQUEST_ID.match(i) for i in ids)
    assert audit_module.safe_request_id("given-id.1") == "given-id.1"
    assert audit_module.safe_request_id("bad id\n") != "bad id\n"
