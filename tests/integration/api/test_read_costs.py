"""What REST reads cost in Temporal calls: entity lookup from the index (no query, no mirror), shared /ready, cursors
and ids refused first, release updated_at right after a load, per-release counters that do not grow without bound."""

from __future__ import annotations

import asyncio

import pytest

from release_console import services
from release_console.domain.plan import PlanNode
from release_console.readpath.errors import InvalidReleaseId
from release_console.temporal.releases import build_plan, report, start_release
from tests.helpers import eventually, indexed

API = "/api/v1"


def running():
    return services.current()


def shared_plan(release_key: str, shared: str) -> PlanNode:
    """A one-app release whose wave/cluster/bundle/app ids are ``shared`` (the same in every such release)."""
    app = PlanNode(f"app:{shared}-a1")
    bundle = PlanNode(f"bundle:{shared}-b", children=[app])
    cluster = PlanNode(f"cluster:{shared}-c", children=[bundle])
    return PlanNode(f"release:{release_key}", children=[PlanNode(f"wave:{shared}-w", children=[cluster])])


async def test_entity_lookup_asks_no_release_and_starts_no_mirror_for_releases_only_searched(
    api, admin_headers, client, settings, unique
):
    holder = build_plan(f"hold-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    other = build_plan(f"other-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    for plan in (other, holder):
        await start_release(client, settings, plan)
    wanted = f"app:hold-{unique}-w1-c1-a2"

    await indexed(wanted)
    found = await api.get(f"{API}/entities/{wanted}", headers=admin_headers)
    assert found.status_code == 200 and found.json()["release_id"] == holder.id
    assert found.json()["path"][0] == holder.id

    def asked() -> dict[str, int]:
        return running().stats.for_release(other.id)

    indexing = running().entity_index.gateway.stats  # the index counts its own queries apart
    await eventually(lambda: indexing.for_release(other.id).get("index:query:snapshot"), what="the other indexed")
    before = asked()
    assert before == {}, before  # indexed, never asked by a lookup, loaded or polled
    mirrored = [m["release_id"] for m in (await api.get(f"{API}/stats", headers=admin_headers)).json()["mirrors"]]
    assert other.id not in mirrored and running().mirrors.peek(other.id) is None

    missing = f"app:nowhere-{unique}"
    for _ in range(2):
        answer = await api.get(f"{API}/entities/{missing}", headers=admin_headers)
        assert answer.status_code == 404 and answer.json()["code"] == "entity_not_found"
        assert {"complete", "indexed", "total", "unreadable"} <= set(answer.json())
    assert asked() == before  # lookups read the index: no release is asked anything


async def test_entity_in_two_releases_is_409_with_candidates_and_their_states(
    api, admin_headers, client, settings, unique
):
    plans = [shared_plan(f"dup{n}-{unique}", f"shared-{unique}") for n in (1, 2)]
    for plan in plans:
        await start_release(client, settings, plan)
    await report(client, plans[1].id, [(f"app:shared-{unique}-a1", "deploying")])  # both releases keep running

    await indexed(f"app:shared-{unique}-a1", 2)  # before any lookup: one with a single holder would open it
    answer = await api.get(f"{API}/entities/app:shared-{unique}-a1", headers=admin_headers)
    assert answer.status_code == 409, "the shared entity was not reported as ambiguous"
    body = answer.json()
    assert body["code"] == "ambiguous_entity" and body["candidates"] == sorted(p.id for p in plans)
    assert [h["release_id"] for h in body["holders"]] == body["candidates"]
    first = body["holders"][0]
    assert first == {**first, "state": "pending", "current": False, "source": "index"}  # running, not followed
    assert all(running().mirrors.peek(p.id) is None for p in plans)

    await api.get(f"{API}/releases/{plans[1].id}", headers=admin_headers)  # now the console follows the second
    again = (await api.get(f"{API}/entities/app:shared-{unique}-a1", headers=admin_headers)).json()
    followed = {h["release_id"]: h for h in again["holders"]}[plans[1].id]
    assert followed == {**followed, "state": "deploying", "current": True, "source": "mirror"}


async def test_fifty_concurrent_ready_probes_share_one_health_call(api):
    assert await services.wait_until_started(10) is not None
    before = running().stats.calls["health"]
    responses = await asyncio.gather(*(api.get(f"{API}/ready") for _ in range(50)))
    assert {r.status_code for r in responses} == {200}
    calls = running().stats.calls["health"] - before
    print(f"50 concurrent /ready -> {calls} Temporal health call(s)")
    assert calls <= 2


async def test_release_updated_at_right_after_first_load_is_last_transition(
    api, admin_headers, client, settings, unique
):
    key = f"upd-{unique}"
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=2)
    await start_release(client, settings, plan)
    await report(client, plan.id, [(f"app:{key}-w1-c1-a1", "deploying")])
    await report(client, plan.id, [(f"app:{key}-w1-c1-a2", "deployed")])

    body = (await api.get(f"{API}/releases/{plan.id}?depth=4", headers=admin_headers)).json()  # the first load
    assert body["version"] == 2
    apps = body["children"][0]["children"][0]["children"][0]["children"]
    last = max(a["updated_at"] for a in apps)
    assert last == apps[1]["updated_at"]
    assert body["updated_at"] == last, (body["updated_at"], last)


async def test_forged_list_cursor_is_refused(api, admin_headers):
    response = await api.get(f"{API}/releases", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=admin_headers)
    assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"


async def test_registry_refuses_malformed_release_id_without_a_call(api):
    assert await services.wait_until_started(10) is not None
    before = running().stats.total
    for bad in ("app:not-a-release", "release:", "nonsense"):
        with pytest.raises(InvalidReleaseId) as caught:
            await running().mirrors.get(bad)
        assert caught.value.status == 422 and caught.value.code == "invalid_id"
    assert running().stats.total == before


async def test_counters_of_unknown_releases_are_dropped(api, admin_headers, unique):
    missing = [f"release:ghost{n}-{unique}" for n in range(5)]
    for release_id in missing:
        response = await api.get(f"{API}/releases/{release_id}", headers=admin_headers)
        assert response.status_code == 404
    stats, registry = running().stats, running().mirrors
    assert all(rid in stats.by_release for rid in missing)

    async def forgotten():
        await registry.reap()
        return not any(rid in stats.by_release for rid in missing)

    assert await eventually(forgotten, step=0.2), "counters of unknown releases were kept"
