"""The gateway's own visibility decoding (off the event loop) reads what the SDK's ``list_workflows`` reads."""

from __future__ import annotations

from release_console.contract.names import MEMO_SUMMARY
from release_console.readpath.gateway import TemporalGateway
from release_console.readpath.stats import ReadPathStats
from release_console.readpath.visibility import MAX_MEMO_BYTES
from release_console.temporal.releases import build_plan, report, start_release
from tests.helpers import eventually


def pairs(attributes) -> dict:
    """Search attributes by name (their order in the list is not part of the answer)."""
    return {pair.key.name: pair.value for pair in attributes}


async def test_listed_releases_match_the_sdks_decoding(client, settings, unique):
    plans = [build_plan(f"vis-{unique}-{n}", waves=1, clusters_per_wave=1, apps_per_bundle=2) for n in range(3)]
    for plan in plans:
        await start_release(client, settings, plan)
    await report(client, plans[0].id, [(f"app:vis-{unique}-0-w1-c1-a1", "deployed")])
    await client.get_workflow_handle(plans[2].id).terminate("test: a closed release")
    ids = {plan.id for plan in plans}
    query = f'WorkflowType="{settings.RELEASE_WORKFLOW_TYPE}" AND WorkflowId STARTS_WITH "release:vis-{unique}"'

    async def sdk_rows() -> dict | None:
        rows = {e.id: e async for e in client.list_workflows(query)}
        summaries = {i: (await e.memo()).get(MEMO_SUMMARY) for i, e in rows.items()}
        settled = set(rows) == ids and rows[plans[2].id].close_time is not None
        settled = settled and (summaries[plans[0].id] or {}).get("version") == 1
        # the running releases' first workflow task ran (it sets their search attributes): nothing moves any more
        settled = settled and all("ReleaseUpdatedAt" in pairs(rows[p.id].typed_search_attributes) for p in plans[:2])
        return {"rows": rows, "summaries": summaries} if settled else None

    sdk = await eventually(sdk_rows, timeout=20, what="visibility to show the three releases as changed")
    stats = ReadPathStats()
    listed = {row.id: row for row in await TemporalGateway(client, settings, stats).list_releases() if row.id in ids}

    assert set(listed) == ids
    for release_id, row in listed.items():
        execution = sdk["rows"][release_id]
        assert row.status == execution.status.name.lower()
        assert (row.start_time, row.close_time) == (execution.start_time, execution.close_time)
        assert pairs(row.search_attributes) == pairs(execution.typed_search_attributes)
        assert row.memo_summary == sdk["summaries"][release_id]
    assert listed[plans[2].id].status == "terminated" and listed[plans[0].id].memo_summary["version"] == 1
    assert stats.total >= 1


async def test_a_memo_is_decoded_only_when_small_and_only_its_summary_fields_are_kept(client, settings, unique):
    """A release workflow's memo comes from whoever started it: one over MAX_MEMO_BYTES (here compressed by the
    console's codec, 4 MiB unpacked) is not decoded, and unknown or mistyped fields are dropped."""
    prefix = f"release:memo-{unique}"
    memos = {
        f"{prefix}-big": {"state": "deploying", "blob": "x" * (4 * MAX_MEMO_BYTES)},
        f"{prefix}-extra": {"state": "deploying", "version": True, "apps_total": 3, "note": "kept nowhere"},
    }
    for workflow_id, memo in memos.items():  # no worker runs them: visibility lists them as started
        await client.start_workflow(settings.RELEASE_WORKFLOW_TYPE, id=workflow_id, task_queue=f"none-{unique}",
                                    memo={MEMO_SUMMARY: memo})
    gateway = TemporalGateway(client, settings, ReadPathStats())

    async def listed() -> dict | None:
        rows = {row.id: row for row in await gateway.list_releases() if row.id.startswith(prefix)}
        return rows if len(rows) == 2 else None

    rows = await eventually(listed, timeout=20, what="visibility to list both workflows")
    assert rows[f"{prefix}-big"].memo_summary is None
    assert rows[f"{prefix}-extra"].memo_summary == {"state": "deploying", "apps_total": 3}
    for workflow_id in memos:
        await client.get_workflow_handle(workflow_id).terminate("test done")
