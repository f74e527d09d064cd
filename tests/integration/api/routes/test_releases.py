"""REST read API against the real Temporal server: shapes, errors, freshness and counted Temporal calls."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime

from release_console.temporal.releases import build_plan, report, start_release
from tests.helpers import API, eventually, indexed
from tests.integration.api.helpers import polls_until_applied


async def test_release_detail_shape_and_update_freshness(api, admin_headers, client, settings, unique):
    key = f"api-{unique}"
    plan = build_plan(key, waves=2, clusters_per_wave=2, apps_per_bundle=3)
    await start_release(client, settings, plan)

    response = await api.get(f"{API}/releases/{plan.id}", params={"depth": 4}, headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == plan.id and body["type"] == "release" and body["status"] == "running"
    assert body["version"] == 0 and body["as_of"] and body["stale"] is False
    assert body["apps_total"] == 12 and body["entity_count"] == 1 + 2 + 4 + 4 + 12
    wave = body["children"][0]
    cluster = wave["children"][0]
    bundle = cluster["children"][0]
    app = bundle["children"][0]
    assert (wave["type"], cluster["type"], bundle["type"], app["type"]) == ("wave", "cluster", "bundle", "app")
    assert cluster["counts"] == {"bundle": {"pending": 1}, "app": {"pending": 3}}
    assert app["children"] == [] and app["updated_at"]

    counted, applied_at_poll, remove = polls_until_applied(plan.id)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await report(client, plan.id, [(f"app:{key}-w1-c1-a1", "deployed"), (f"app:{key}-w2-c2-a3", "failed")])
    polls_before = counted()

    async def updated():
        r = await api.get(f"{API}/releases/{plan.id}/entities/app:{key}-w1-c1-a1", headers=admin_headers)
        return r.json() if r.json()["version"] >= result.version else None

    entity = await eventually(updated)
    seen_after = loop.time() - started
    remove()
    assert entity["entity"]["state"] == "deployed"
    assert entity["parent"]["id"] == f"bundle:{key}-w1-c1"
    assert entity["path"] == [plan.id, f"wave:{key}-w1", f"cluster:{key}-w1-c1", f"bundle:{key}-w1-c1"]
    # freshness in poll cycles, not seconds: the poll in flight when the update returned, or the next one, applied it
    print(f"update visible via REST after {seen_after:.3f}s; applied by poll {applied_at_poll} (report done at "
          f"poll {polls_before})")
    assert applied_at_poll and applied_at_poll[0] <= polls_before + 1

    shallow = (await api.get(f"{API}/releases/{plan.id}?depth=1&limit=1", headers=admin_headers)).json()
    assert [c["children"] for c in shallow["children"]] == [None]
    assert shallow["next_cursor"] == "o:1" and shallow["counts"]["app"] == {"pending": 10, "deployed": 1, "failed": 1}


async def test_children_pages_and_state_filter(api, admin_headers, client, settings, unique):
    key = f"kids-{unique}"
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=5)
    await start_release(client, settings, plan)
    await report(client, plan.id, [(f"app:{key}-w1-c1-a2", "failed"), (f"app:{key}-w1-c1-a4", "failed")])
    url = f"{API}/releases/{plan.id}/entities/bundle:{key}-w1-c1/children"

    first = (await api.get(f"{url}?limit=2", headers=admin_headers)).json()
    assert [i["id"] for i in first["items"]] == [f"app:{key}-w1-c1-a1", f"app:{key}-w1-c1-a2"]
    assert first["total"] == 5 and first["next_cursor"]
    rest = (await api.get(f"{url}?limit=10&cursor={first['next_cursor']}", headers=admin_headers)).json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None

    async def failed_only():
        body = (await api.get(f"{url}?state=failed", headers=admin_headers)).json()
        return body if body["total"] == 2 else None

    failed = await eventually(failed_only)
    assert [i["state"] for i in failed["items"]] == ["failed", "failed"]


async def test_release_list_paging_and_filter(api, admin_headers, client, settings, unique):
    plans = [build_plan(f"lst{n}-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2) for n in range(3)]
    for plan in plans:
        await start_release(client, settings, plan)
    await report(client, plans[1].id, [(plans[1].id, "paused")])
    ids = {p.id for p in plans}

    async def all_listed():
        body = (await api.get(f"{API}/releases?limit=1000", headers=admin_headers)).json()
        paused = [i for i in body["items"] if i["id"] == plans[1].id and i["state"] == "paused"]
        return body if ids <= {i["id"] for i in body["items"]} and paused else None

    body = await eventually(all_listed)
    assert body, "releases did not appear in the list"
    item = next(i for i in body["items"] if i["id"] == plans[0].id)
    assert set(item) >= {"id", "state", "updated_at", "counts", "progress"} and item["counts"]["app"] == {"pending": 2}
    order = [i["id"] for i in body["items"] if i["id"] in ids]
    assert order == [p.id for p in reversed(plans)]  # newest first

    collected, cursor = [], None
    while True:
        page = (await api.get(f"{API}/releases", params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                              headers=admin_headers)).json()
        collected += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert ids <= set(collected) and len(collected) == len(set(collected))

    paused = (await api.get(f"{API}/releases?state=paused", headers=admin_headers)).json()
    assert plans[1].id in {i["id"] for i in paused["items"]} and {i["state"] for i in paused["items"]} == {"paused"}


async def test_locate_entity_and_export(api, admin_headers, client, settings, unique):
    key = f"loc-{unique}"
    plan = build_plan(key, waves=1, clusters_per_wave=2, apps_per_bundle=2)
    await start_release(client, settings, plan)

    await indexed(f"app:{key}-w1-c2-a2")
    found = await api.get(f"{API}/entities/app:{key}-w1-c2-a2", headers=admin_headers)
    assert found.status_code == 200
    assert found.json()["release_id"] == plan.id and found.json()["parent"]["id"] == f"bundle:{key}-w1-c2"
    missing = await api.get(f"{API}/entities/app:nowhere-{unique}", headers=admin_headers)
    assert missing.status_code == 404 and missing.json()["code"] == "entity_not_found"

    exported = await api.get(f"{API}/releases/{plan.id}/export?format=csv", headers=admin_headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["x-version"] == "0" and datetime.fromisoformat(exported.headers["x-as-of"]).tzinfo
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 1 + 1 + 2 + 2 + 4 and rows[0]["id"] == plan.id and rows[-1]["type"] == "app"
    as_json = (await api.get(f"{API}/releases/{plan.id}/export", headers=admin_headers)).json()
    assert [e["id"] for e in as_json["entities"]] == [r["id"] for r in rows] and as_json["version"] == 0


async def test_two_hundred_readers_cost_what_one_costs(api, admin_headers, client, settings, unique):
    plans = [build_plan(f"n{n}-{unique}", waves=1, clusters_per_wave=2, apps_per_bundle=3) for n in (1, 200)]
    for plan in plans:
        await start_release(client, settings, plan)
    one, crowd = plans
    assert (await api.get(f"{API}/releases/{one.id}", headers=admin_headers)).status_code == 200
    url = f"{API}/releases/{crowd.id}"
    responses = await asyncio.gather(*(api.get(url, headers=admin_headers) for _ in range(200)))
    assert {r.status_code for r in responses} == {200}

    stats = (await api.get(f"{API}/stats", headers=admin_headers)).json()
    from release_console import services

    per_release = services.current().stats.for_release
    loads = lambda rid: {k: v for k, v in per_release(rid).items() if k.startswith("load:")}  # noqa: E731
    assert loads(crowd.id) == loads(one.id) and loads(one.id)["load:query:snapshot"] == 1
    mirrored = [m["release_id"] for m in stats["mirrors"]]
    assert mirrored.count(crowd.id) == 1 and stats["queries"] >= 2
    # once loaded, another 200 readers add no load at all (only the single poller keeps querying)
    await asyncio.gather(*(api.get(f"{API}/releases/{crowd.id}", headers=admin_headers) for _ in range(200)))
    assert loads(crowd.id) == loads(one.id)
