"""AccountsWorkflow on the real Temporal server and worker: validators, last-admin rule, continue-as-new, history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from release_console.core.config import Settings
from release_console.core.security import hash_password
from release_console.workflows.accounts import (
    QUERY_SNAPSHOT,
    UPDATE_CREATE,
    UPDATE_DELETE,
    UPDATE_ENABLED,
    UPDATE_ENSURE_ADMIN,
    UPDATE_PUT,
    UPDATE_ROLE,
    UPDATE_USER,
    AccountRecord,
    AccountsInput,
    AccountsSnapshot,
    AccountsWorkflow,
    CreateUser,
    PutUser,
    SetEnabled,
    SetRole,
    UpdateUser,
    UserRef,
)

HASH = hash_password("first-password-1", rounds=4)
SIG, SIG2 = "v1:" + "a" * 64, "v1:" + "b" * 64


async def start(client: Client, settings: Settings, unique: str, max_updates: int = 500) -> WorkflowHandle:
    return await client.start_workflow(
        AccountsWorkflow.run,
        AccountsInput(max_updates_per_run=max_updates),
        id=f"accounts-test-{unique}",
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        execution_timeout=timedelta(minutes=10),
    )


async def update(handle: WorkflowHandle, name: str, arg: object) -> AccountsSnapshot:
    return await handle.execute_update(name, arg, result_type=AccountsSnapshot)


async def rejected(handle: WorkflowHandle, name: str, arg: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await update(handle, name, arg)
    return f"{info.value.cause.type}: {info.value.cause.message}"


async def test_users_changes_and_validators(client: Client, settings: Settings, unique: str) -> None:
    handle = await start(client, settings, unique)
    assert await handle.execute_update(UPDATE_ENSURE_ADMIN, CreateUser("root", HASH, "admin"), result_type=str) \
        == "created"
    assert await handle.execute_update(UPDATE_ENSURE_ADMIN, CreateUser("other", HASH, "admin"), result_type=str) \
        == "exists"
    snap = await update(handle, UPDATE_CREATE, CreateUser("bob", HASH, "viewer"))
    assert [u.username for u in snap.users] == ["bob", "root"] and snap.version == 2
    assert "conflict" in await rejected(handle, UPDATE_CREATE, CreateUser("bob", HASH, "viewer"))
    assert "invalid" in await rejected(handle, UPDATE_CREATE, CreateUser("Bad Name", HASH, "viewer"))
    assert "invalid" in await rejected(handle, UPDATE_CREATE, CreateUser("carol", HASH, "owner"))
    assert "invalid" in await rejected(handle, UPDATE_CREATE, CreateUser("carol", "plain-text-password", "viewer"))
    assert "not_found" in await rejected(handle, UPDATE_ROLE, SetRole("nobody", "admin"))
    for name, arg in [(UPDATE_DELETE, UserRef("root")), (UPDATE_ROLE, SetRole("root", "viewer")),
                      (UPDATE_ENABLED, SetEnabled("root", False))]:
        assert "last_admin" in await rejected(handle, name, arg)
    await update(handle, UPDATE_ROLE, SetRole("bob", "admin"))
    snap = await update(handle, UPDATE_DELETE, UserRef("root"))  # bob is an admin now, so root may go
    assert [(u.username, u.role) for u in snap.users] == [("bob", "admin")]
    after = await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot)
    assert after.version == snap.version  # rejected updates recorded nothing


async def test_continue_as_new_keeps_users(client: Client, settings: Settings, unique: str) -> None:
    handle = await start(client, settings, unique, max_updates=3)
    first = (await handle.describe()).run_id
    await handle.execute_update(UPDATE_ENSURE_ADMIN, CreateUser("root", HASH, "admin"), result_type=str)
    for name in ("u1", "u2", "u3", "u4"):
        await update(handle, UPDATE_CREATE, CreateUser(name, HASH, "viewer"))
    snap = await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot)
    assert [u.username for u in snap.users] == ["root", "u1", "u2", "u3", "u4"] and snap.version == 5
    assert (await handle.describe()).run_id != first


async def test_no_plain_password_in_history(client: Client, settings: Settings, unique: str) -> None:
    handle = await start(client, settings, unique)
    plain = f"plain-secret-{unique}"
    hashed = hash_password(plain, rounds=4)
    await handle.execute_update(UPDATE_ENSURE_ADMIN, CreateUser("root", hashed, "admin"), result_type=str)
    await update(handle, UPDATE_USER, UpdateUser("root", password_hash=hash_password(plain + "2", rounds=4)))
    raw = b"".join(event.SerializeToString() for event in (await handle.fetch_history()).events)
    assert hashed.encode() in raw  # we do look at the payloads
    assert plain.encode() not in raw


async def test_update_user_applies_all_or_nothing(client: Client, settings: Settings, unique: str) -> None:
    handle = await start(client, settings, unique)
    await handle.execute_update(UPDATE_ENSURE_ADMIN, CreateUser("root", HASH, "admin"), result_type=str)
    other = hash_password("second-password-2", rounds=4)
    before = await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot)
    # a new password together with a refused demotion: nothing of it applies
    assert "last_admin" in await rejected(handle, UPDATE_USER, UpdateUser("root", password_hash=other, role="viewer"))
    assert "last_admin" in await rejected(handle, UPDATE_USER, UpdateUser("root", password_hash=other, enabled=False))
    assert "invalid" in await rejected(handle, UPDATE_USER, UpdateUser("root", password_hash=other, role="owner"))
    assert "invalid" in await rejected(handle, UPDATE_USER, UpdateUser("root"))
    assert "not_found" in await rejected(handle, UPDATE_USER, UpdateUser("nobody", role="admin"))
    after = await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot)
    assert after == before and after.users[0].password_hash == HASH
    await update(handle, UPDATE_CREATE, CreateUser("bob", HASH, "admin"))
    snap = await update(handle, UPDATE_USER, UpdateUser("root", password_hash=other, role="viewer", enabled=False))
    root = next(u for u in snap.users if u.username == "root")
    assert (root.password_hash, root.role, root.enabled) == (other, "viewer", False)
    assert root.password_changed_at is not None


async def test_ensure_first_admin_never_overwrites_an_existing_user(
    client: Client, settings: Settings, unique: str
) -> None:
    kept = AccountRecord("keeper", HASH, "viewer", False, created_at="2020-01-02T03:04:05Z")
    handle = await client.start_workflow(
        AccountsWorkflow.run,
        AccountsInput(users=[kept]),
        id=f"accounts-test-{unique}",
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        execution_timeout=timedelta(minutes=10),
    )
    other = hash_password("configured-password-9", rounds=4)
    outcome = await handle.execute_update(UPDATE_ENSURE_ADMIN, CreateUser("keeper", other, "admin"), result_type=str)
    assert outcome == "restored"
    snap = await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot)
    [keeper] = snap.users
    assert (keeper.role, keeper.enabled) == ("admin", True)  # re-enabled and promoted...
    assert keeper.password_hash == HASH and keeper.created_at == "2020-01-02T03:04:05Z"  # ...but not overwritten


async def test_put_user_checks_its_input_and_the_record_it_replaces(
    client: Client, settings: Settings, unique: str
) -> None:
    handle = await start(client, settings, unique)
    snap = await update(handle, UPDATE_PUT, PutUser("root", HASH, "admin", True, "2026-01-02T03:04:05Z", SIG))
    [root] = snap.users
    assert (root.signature, root.password_changed_at) == (SIG, "2026-01-02T03:04:05Z") and root.created_at
    for bad in [
        PutUser("Bad Name", HASH, "viewer", True, None, SIG),
        PutUser("bob", HASH, "owner", True, None, SIG),
        PutUser("bob", "plain-text-password", "viewer", True, None, SIG),
        PutUser("bob", HASH, "viewer", True, "yesterday", SIG),
        PutUser("bob", HASH, "viewer", True, None, "not-a-signature"),
        PutUser("bob", HASH, "viewer", True, None, ""),
    ]:
        assert "invalid" in await rejected(handle, UPDATE_PUT, bad)
    assert "conflict" in await rejected(handle, UPDATE_PUT, PutUser("root", HASH, "admin", True, None, SIG2))
    assert "stale" in await rejected(handle, UPDATE_PUT, PutUser("root", HASH, "admin", True, None, SIG2, SIG2))
    assert "stale" in await rejected(handle, UPDATE_PUT, PutUser("nobody", HASH, "viewer", True, None, SIG2, SIG))
    assert "last_admin" in await rejected(handle, UPDATE_PUT, PutUser("root", HASH, "viewer", True, None, SIG2, SIG))
    assert "last_admin" in await rejected(handle, UPDATE_PUT, PutUser("root", HASH, "admin", False, None, SIG2, SIG))
    assert await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot) == snap  # refused: nothing recorded
    # an unsigned record (token "") is replaced whole; its created_at and last_login_at stay
    legacy = (await update(handle, UPDATE_CREATE, CreateUser("legacy", HASH, "viewer"))).users[0]
    other = hash_password("second-password-2", rounds=4)
    snap = await update(handle, UPDATE_PUT, PutUser("legacy", other, "admin", False, None, SIG2, ""))
    new = next(u for u in snap.users if u.username == "legacy")
    assert (new.password_hash, new.role, new.enabled, new.signature) == (other, "admin", False, SIG2)
    assert new.created_at == legacy.created_at and new.password_changed_at is None
