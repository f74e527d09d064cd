"""Smoke: a release started on the real server answers its summary query through the real worker."""

from release_console.contract.names import QUERY_SUMMARY
from release_console.contract.shapes import ReleaseSummary
from release_console.temporal.releases import build_plan, report, start_release


async def test_release_answers_summary(client, settings, unique):
    plan = build_plan(f"smoke-{unique}", waves=2, clusters_per_wave=2, apps_per_bundle=3)
    handle = await start_release(client, settings, plan)
    result = await report(client, plan.id, [(f"app:smoke-{unique}-w1-c1-a1", "deployed")])
    summary = await handle.query(QUERY_SUMMARY, result_type=ReleaseSummary)
    assert result.version == 1
    assert summary.version == 1
    assert summary.apps_total == 12 and summary.apps_done == 1
    assert summary.counts["app"] == {"pending": 11, "deployed": 1}
