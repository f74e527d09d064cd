"""AccountsWorkflow on the real Temporal server and worker: validators, last-admin rule, continue-as-new, history,
and the first workflow type (accounts_v1.py): the retired Updates refused, its runs continued as new into V2."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from release_console.core.config import Settings
from release_console.core.security import hash_password
from release_console.workflows.accounts import (
    QUERY_SNAPSHOT,
    UPDATE_DELETE,
    UPDATE_PUT,
    WORKFLOW_TYPE,
    AccountRecord,
    AccountsInput,
    AccountsSnapshot,
    AccountsWorkflow,
    ApiKeyRecord,
    PutUser,
    UserRef,
)
from release_console.workflows.accounts_v1 import (
    LEGACY_WORKFLOW_TYPE,
    UPDATE_CREATE,
    UPDATE_ENABLED,
    UPDATE_ENSURE_ADMIN,
    UPDATE_PASSWORD,
    UPDATE_ROLE,
    UPDATE_USER,
    AccountsWorkflowV1,
    CreateUser,
    SetEnabled,
    SetPassword,
    SetRole,
    UpdateUser,
)
from tests.helpers import eventually

HASH = hash_password("first-password-1", rounds=4)
SIG, SIG2, SIG3 = "v1:" + "a" * 64, "v1:" + "b" * 64, "v1:" + "c" * 64
RETIRED = [(UPDATE_CREATE, CreateUser("bob", HASH, "admin")), (UPDATE_ENSURE_ADMIN, CreateUser("bob", HASH, "admin")),
           (UPDATE_USER, UpdateUser("root", role="viewer")), (UPDATE_ROLE, SetRole("root", "viewer")),
           (UPDATE_PASSWORD, SetPassword("root", HASH)), (UPDATE_ENABLED, SetEnabled("root", False))]


async def start(client: Client, settings: Settings, unique: str, max_updates: int = 500, *,
                users: list[AccountRecord] | None = None, run=AccountsWorkflow.run) -> WorkflowHandle:
    return await client.start_workflow(
        run,
        AccountsInput(users=users or [], max_updates_per_run=max_updates),
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
    return f"{getattr(info.value.cause, 'type', None)}: {info.value.cause.message}"


def put(name: str, role: str = "viewer", signature: str = SIG, expected: str | None = None, *,
        password_hash: str = HASH, enabled: bool = True) -> PutUser:
    return PutUser(name, password_hash, role, enabled, None, signature, expected)


async def test_users_changes_and_validators(client: Client, settings: Settings, unique: str) -> None:
    handle = await start(client, settings, unique)
    await update(handle, UPDATE_PUT, put("root", "admin"))
    snap = await update(handle, UPDATE_PUT, put("bob"))
    assert [u.username for u in snap.users] == ["bob", "root"] and snap.version == 2
    assert "conflict" in await rejected(handle, UPDATE_PUT, put("bob"))
    assert "not_found" in await rejected(handle, UPDATE_DELETE, UserRef("nobody"))
    for name, arg in [(UPDATE_DELETE, UserRef("root")), (UPDATE_PUT, put("root", "viewer", SIG2, SIG)),
                      (UPDATE_PUT, put("root", "admin", SIG2, SIG, enabled=False))]:
        assert "last_admin" in await rejected(handle, name, arg)
    await update(handle, UPDATE_PUT, put("bob", "admin", SIG2, SIG))
    snap = await update(handle, UPDATE_DELETE, UserRef("root"))  # bob is an admin now, so root may go
    assert [(u.username, u.role) for u in snap.users] == [("bob", "admin")]
    after = await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot)
    assert after.version == snap.version  # rejected updates recorded nothing


async def test_continue_as_new_keeps_users(client: Client, settings: Settings, unique: str) -> None:
    handle = await start(client, settings, unique, max_updates=3)
    first = (await handle.describe()).run_id
    for name in ("root", "u1", "u2", "u3", "u4"):
        await update(handle, UPDATE_PUT, put(name, "admin" if name == "root" else "viewer"))
    snap = await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot)
    assert [u.username for u in snap.users] == ["root", "u1", "u2", "u3", "u4"] and snap.version == 5
    described = await handle.describe()
    assert described.run_id != first and described.workflow_type == WORKFLOW_TYPE


async def test_no_plain_password_in_history(client: Client, settings: Settings, unique: str) -> None:
    handle = await start(client, settings, unique)
    plain = f"plain-secret-{unique}"
    hashed = hash_password(plain, rounds=4)
    await update(handle, UPDATE_PUT, put("root", "admin", password_hash=hashed))
    second = hash_password(plain + "2", rounds=4)
    await update(handle, UPDATE_PUT, put("root", "admin", SIG2, SIG, password_hash=second))
    raw = b"".join(event.SerializeToString() for event in (await handle.fetch_history()).events)
    assert hashed.encode() in raw  # we do look at the payloads
    assert plain.encode() not in raw


async def test_put_user_checks_its_input_and_the_record_it_replaces(
    client: Client, settings: Settings, unique: str
) -> None:
    # an unsigned record, as written before records were signed (or by the retired Updates)
    unsigned = AccountRecord("legacy", HASH, "viewer", True, "2020-01-02T03:04:05Z", "2020-02-03T04:05:06Z")
    handle = await start(client, settings, unique, users=[unsigned])
    snap = await update(handle, UPDATE_PUT, PutUser("root", HASH, "admin", True, "2026-01-02T03:04:05Z", SIG))
    root = next(u for u in snap.users if u.username == "root")
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
    other = hash_password("second-password-2", rounds=4)
    assert "conflict" in await rejected(handle, UPDATE_PUT, PutUser("root", HASH, "admin", True, None, SIG2))
    assert "stale" in await rejected(handle, UPDATE_PUT, PutUser("root", HASH, "admin", True, None, SIG2, SIG2))
    assert "stale" in await rejected(handle, UPDATE_PUT, PutUser("nobody", HASH, "viewer", True, None, SIG2, SIG))
    # a new password together with a refused demotion or disabling: nothing of it applies
    assert "last_admin" in await rejected(handle, UPDATE_PUT, PutUser("root", other, "viewer", True, None, SIG2, SIG))
    assert "last_admin" in await rejected(handle, UPDATE_PUT, PutUser("root", other, "admin", False, None, SIG2, SIG))
    assert await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot) == snap  # refused: nothing recorded
    # the unsigned record (token "") is replaced whole; its created_at and last_login_at stay
    snap = await update(handle, UPDATE_PUT, PutUser("legacy", other, "admin", False, None, SIG2, ""))
    new = next(u for u in snap.users if u.username == "legacy")
    assert (new.password_hash, new.role, new.enabled, new.signature) == (other, "admin", False, SIG2)
    assert (new.created_at, new.last_login_at) == (unsigned.created_at, unsigned.last_login_at)
    assert new.password_changed_at is None


@pytest.mark.parametrize("run", [AccountsWorkflow.run, AccountsWorkflowV1.run], ids=["V2", "first type"])
async def test_the_retired_updates_are_refused(client: Client, settings: Settings, unique: str, run) -> None:
    handle = await start(client, settings, unique, run=run)
    before = await update(handle, UPDATE_PUT, put("root", "admin"))
    for name, arg in RETIRED:
        assert name in await rejected(handle, name, arg)  # V2: no such handler; the first type: no longer accepted
    assert await handle.query(QUERY_SNAPSHOT, result_type=AccountsSnapshot) == before  # nothing recorded


async def test_a_run_of_the_first_type_continues_as_new_into_v2(
    client: Client, settings: Settings, unique: str
) -> None:
    root = AccountRecord("root", HASH, "admin", True, "2020-01-02T03:04:05Z", signature=SIG)
    key = ApiKeyRecord("0123456789abcdef", "root", "ci", "e" * 64, "read", "2026-01-01T00:00:00Z",
                       "2027-01-01T00:00:00Z", "k1:" + "f" * 64)
    handle = await client.start_workflow(
        AccountsWorkflowV1.run, AccountsInput(users=[root], version=7, max_updates_per_run=2, keys=[key]),
        id=f"accounts-test-{unique}", task_queue=settings.TEMPORAL_TASK_QUEUE,
        execution_timeout=timedelta(minutes=10),
    )
    first = await handle.describe()
    assert first.workflow_type == LEGACY_WORKFLOW_TYPE
    await update(handle, UPDATE_PUT, put("bob"))
    await update(handle, UPDATE_PUT, put("bob", "admin", SIG2, SIG))  # the second change: the run continues as new

    async def moved() -> bool:
        return (await handle.describe()).run_id != first.run_id

    await eventually(moved, what="the run of the first type to continue as new")
    described = await handle.describe()
    assert described.workflow_type == WORKFLOW_TYPE
    snap = await update(handle, UPDATE_PUT, put("carol", signature=SIG3))  # V2 goes on from the carried state
    assert [(u.username, u.role) for u in snap.users] == [("bob", "admin"), ("carol", "viewer"), ("root", "admin")]
    assert snap.version == 10 and snap.keys == [key] and snap.users[2] == root
    assert UPDATE_ROLE in await rejected(handle, UPDATE_ROLE, SetRole("bob", "viewer"))  # V2 has no such handler
