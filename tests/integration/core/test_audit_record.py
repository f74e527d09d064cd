"""The audit log keeps its record: bounded values, aggregated refusals, rotated files read back, no
secrets, nothing lost at a clean stop (lines are written off the event loop). Real console, real Temporal."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nicegui.testing import User
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user_simulation import user_simulation

from release_console.core.config import get_settings
from release_console.runtime import audit as audit_module
from release_console.runtime.audit import (
    MAX_VALUE,
    REPEAT_WINDOW_SECONDS,
    attempted_username,
    audit,
    audit_files,
    audit_path,
    flush,
    read_entries,
)
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, login
from tests.integration.ui.helpers import WAIT, accounts_ready, log_in
from tests.unit.core.test_audit import entries

LONG_ID = "A" * 6000




@pytest.fixture
def own_data_dir(tmp_path: Path) -> Iterator[Path]:
    """The console under test keeps its data (and so its audit files) in a directory of this test's own."""
    previous = os.environ["DATA_DIR"]
    os.environ["DATA_DIR"] = str(tmp_path)
    get_settings.cache_clear()
    try:
        yield tmp_path
    finally:
        os.environ["DATA_DIR"] = previous
        get_settings.cache_clear()


async def test_a_long_unauthenticated_path_is_cut_in_its_audit_line(api: httpx.AsyncClient) -> None:
    """The reproduction: GET /api/v1/releases/AAAA… (6,000 characters) without a token wrote the whole path."""
    response = await api.get(f"/api/v1/releases/{LONG_ID}")
    assert response.status_code == 401
    [line] = [e for e in entries() if e["action"] == "api.auth_failed" and "AAAA" in e["target"]][-1:]
    assert len(line["target"]) <= MAX_VALUE
    assert line["target"].endswith(f"[{len('GET /api/v1/releases/') + 6000} chars]")
    raw = audit_path(get_settings()).read_text(encoding="utf-8")
    assert max(len(row) for row in raw.splitlines()) < 2000


async def test_a_flood_of_refused_calls_does_not_push_real_entries_out(api: httpx.AsyncClient) -> None:
    """The reproduction: flooding unauthenticated calls rotated the real entries out of /admin/audit. Now one client's
    refusals write one line per REPEAT_WINDOW_SECONDS, with a ``repeated`` count."""
    await login(api, ADMIN_USERNAME, ADMIN_PASSWORD)  # a real entry
    before = len(entries())
    for i in range(300):
        assert (await api.get(f"/api/v1/releases/{LONG_ID}{i}")).status_code == 401
    written = entries()[before:]
    refused = [e for e in written if e["action"] == "api.auth_failed"]
    assert len(refused) <= 1  # at most the first one of this window (another test may have opened it)
    latest = read_entries(get_settings(), limit=1, user=ADMIN_USERNAME, action="login.success")
    assert latest and latest[0]["target"] == "api"
    # once the window has passed, the next refusal is written with how many it stands for
    clock = audit_module._repeats.clock
    audit_module._repeats.clock = lambda: clock() + REPEAT_WINDOW_SECONDS + 1
    try:
        assert (await api.get("/api/v1/users/me")).status_code == 401
    finally:
        audit_module._repeats.clock = clock
    [last] = [e for e in entries() if e["action"] == "api.auth_failed"][-1:]
    assert last["target"] == "GET /api/v1/users/me" and last["repeated"] >= 300
    assert last["client"] == "127.0.0.1" and last["outcome"] == "denied"


async def test_held_back_counts_and_queued_lines_are_written_at_a_clean_stop(
    request: pytest.FixtureRequest,
) -> None:
    """Audit lines are queued to a writer thread; a clean stop writes all of them, and the count of
    refusals still held back."""
    marker = uuid.uuid4().hex
    async with user_simulation(main_file=get_path_to_main_file(request)) as simulated:
        await accounts_ready()  # started: the audit sinks are installed
        for i in range(3000):
            audit("test.bulk", user="bulk", role=None, target=f"{marker}-{i}")
        for _ in range(5):
            assert (await simulated.http_client.get("/api/v1/users/me")).status_code == 401
    lines = audit_path(get_settings()).read_text(encoding="utf-8").splitlines()  # no flush: the stop did it
    bulk = [json.loads(line)["target"] for line in lines if marker in line]
    assert bulk == [f"{marker}-{i}" for i in range(3000)]
    refused = [json.loads(line) for line in lines if '"api.auth_failed"' in line]
    assert refused[-1]["repeated"] == 4  # the first refusal was written at once, 4 were held back until the stop


async def test_admin_audit_reads_the_rotated_files_newest_first(
    own_data_dir: Path, monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    monkeypatch.setattr(audit_module, "ROTATION", 2000)  # bytes: a new file every few lines
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    for i in range(60):
        audit("test.filler", user="filler", role=None, target=f"filler-{i}")
        flush()  # one line per write (the writer batches what is queued), so the file rotates every few lines
    settings = get_settings()
    assert own_data_dir == settings.DATA_DIR and len(audit_files(settings)) > 3
    assert '"login.success"' not in audit_path(settings).read_text(encoding="utf-8")  # rotated out of the current
    everything = read_entries(settings, limit=1000)
    targets = [e["target"] for e in everything if e["action"] == "test.filler"]
    assert targets == [f"filler-{i}" for i in reversed(range(60))]  # every line, newest first, across files
    times = [e["time"] for e in everything]
    assert times == sorted(times, reverse=True)
    await user.open("/admin/audit?action=login.success")  # the login is in a rotated file by now
    table = user.find(marker="audit-table").elements.pop()
    for _ in range(WAIT):  # the page reads the files in a worker thread
        if table.rows:
            break
        await asyncio.sleep(0.1)
    assert [(r["user"], r["action"]) for r in table.rows][:1] == [(ADMIN_USERNAME, "login.success")]


async def test_a_password_typed_as_username_is_not_stored(user: User) -> None:
    """A failed login's unknown username (maybe a password typed into the wrong box) is kept only as its first
    two characters and its length; an existing user's name is kept as is."""
    await accounts_ready()
    typed, ui_typed = f"Pw-{uuid.uuid4().hex}", f"Ui-{uuid.uuid4().hex}"
    login = "/api/v1/login/access-token"
    response = await user.http_client.post(login, data={"username": typed, "password": "whatever-1"})
    assert response.status_code == 401
    await user.http_client.post(login, data={"username": ADMIN_USERNAME, "password": "wrong-password-9"})
    await log_in(user, ui_typed, "whatever-1")
    await user.should_see("Incorrect username or password", retries=WAIT)
    flush()
    text = audit_path(get_settings()).read_text(encoding="utf-8")
    for secret in (typed, typed.lower(), ui_typed.lower(), typed.lower()[2:12], "whatever-1", "wrong-password-9"):
        assert secret not in text
    failures = read_entries(get_settings(), limit=10, action="login.failure")
    users = {e["user"] for e in failures}
    assert attempted_username(typed.lower(), known=False) in users
    assert attempted_username(ui_typed.lower(), known=False) in users
    assert ADMIN_USERNAME in users
    assert "$2b$" not in text


