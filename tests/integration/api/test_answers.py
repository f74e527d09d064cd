"""Serialized answers against the real Temporal server: shared per version, bounded by default, safe to export,
served past the page middleware; tokens admitted once per accounts version; event-loop lag in /stats."""

from __future__ import annotations

import asyncio
import csv
import io

from release_console import services
from release_console.temporal.releases import build_plan, report, start_release
from tests.helpers import eventually

API = "/api/v1"
DEFAULT_ANSWER_LIMIT = 64 * 1024


async def test_many_readers_of_one_version_cost_one_serialization(api, admin_headers, client, settings, unique):
    key = f"one-{unique}"
    plan = build_plan(key, waves=2, clusters_per_wave=3, apps_per_bundle=20)
    await start_release(client, settings, plan)
    url = f"{API}/releases/{plan.id}?depth=4"
    first = await api.get(url, headers=admin_headers)
    assert first.status_code == 200, first.text
    mirror = services.current().mirrors.peek(plan.id)
    cache = mirror.answers
    builds = cache.builds

    answers = await asyncio.gather(*(api.get(url, headers=admin_headers) for _ in range(100)))
    assert {a.status_code for a in answers} == {200}
    assert cache.builds == builds  # 100 more readers of the same version: no new serialization
    assert len({a.json()["version"] for a in answers}) == 1
    assert {a.content.rsplit(b',"as_of"', 1)[0] for a in answers} == {first.content.rsplit(b',"as_of"', 1)[0]}

    result = await report(client, plan.id, [(f"app:{key}-w1-c1-a1", "deployed")])
    newer = await eventually(
        lambda: _version_at_least(api, url, admin_headers, result.version), timeout=15
    )
    assert newer["children"][0]["children"][0]["children"][0]["children"][0]["state"] == "deployed"
    assert cache.builds == builds + 1  # a new version: serialized once more, and only once
    await asyncio.gather(*(api.get(url, headers=admin_headers) for _ in range(50)))
    assert cache.builds == builds + 1


async def _version_at_least(api, url: str, headers: dict, version: int) -> dict | None:
    body = (await api.get(url, headers=headers)).json()
    return body if body["version"] >= version else None


async def test_default_answer_is_bounded_and_depth_gives_the_rest(api, admin_headers, client, settings, unique):
    plan = build_plan(f"wide-{unique}", waves=10, clusters_per_wave=100, apps_per_bundle=1)  # 1,000 clusters
    await start_release(client, settings, plan)

    default = await api.get(f"{API}/releases/{plan.id}", headers=admin_headers)
    assert default.status_code == 200, default.text
    body = default.json()
    assert len(default.content) < DEFAULT_ANSWER_LIMIT and body["truncated"] is True and body["depth"] == 4
    waves = body["children"]
    assert len(waves) == 10  # breadth-first: every wave is there before any cluster
    shown = [c for w in waves for c in (w["children"] or [])]
    assert 0 < len(shown) < 1000  # the bound stopped it among the clusters: none of them is expanded
    assert all(c["children"] is None and c["next_cursor"] == "o:0" for c in shown)
    cut = next(w for w in waves if w["children"] is None or len(w["children"]) < 100)
    assert cut["child_count"] == 100 and cut["next_cursor"] == f"o:{len(cut['children'] or [])}"  # one page away

    explicit = await api.get(f"{API}/releases/{plan.id}", params={"depth": 2}, headers=admin_headers)
    whole = explicit.json()
    assert whole["truncated"] is False and len(explicit.content) > DEFAULT_ANSWER_LIMIT
    assert sum(len(w["children"]) for w in whole["children"]) == 1000


async def test_default_answer_is_the_whole_release_when_it_fits(api, admin_headers, client, settings, unique):
    plan = build_plan(f"r{unique[:6]}", waves=3, clusters_per_wave=4, apps_per_bundle=20)  # 268 entities, ~57 KB
    await start_release(client, settings, plan)  # ids as long as the demo's release:rel-001

    response = await api.get(f"{API}/releases/{plan.id}", headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    nodes = _nodes(body)
    assert body["truncated"] is False and body["depth"] == 4 and len(response.content) < DEFAULT_ANSWER_LIMIT
    assert len(nodes) == body["entity_count"] == 268  # every node, down to the apps
    assert all(n["next_cursor"] is None and n["children"] is not None for n in nodes.values())


async def test_default_answer_past_the_bound_has_cursors_to_everything(api, admin_headers, client, settings, unique):
    plan = build_plan(f"past-{unique}", waves=2, clusters_per_wave=10, apps_per_bundle=20)  # 443 entities
    await start_release(client, settings, plan)

    response = await api.get(f"{API}/releases/{plan.id}", headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    nodes = _nodes(body)
    assert body["truncated"] is True and len(response.content) < DEFAULT_ANSWER_LIMIT
    assert 200 < len(nodes) < body["entity_count"] == 443
    assert {n["type"] for n in nodes.values()} == {"release", "wave", "cluster", "bundle", "app"}  # breadth-first

    seen = set(nodes)
    pages = [(n["id"], n["next_cursor"]) for n in nodes.values() if n["next_cursor"]]
    while pages:  # a client fetching the rest: follow every next_cursor, of the answer and of each page
        parent, cursor = pages.pop()
        page = (await api.get(f"{API}/releases/{plan.id}/entities/{parent}/children",
                              params={"cursor": cursor, "limit": 1000}, headers=admin_headers)).json()
        assert not seen & {i["id"] for i in page["items"]}  # nothing twice
        seen |= {i["id"] for i in page["items"]}
        pages += [(i["id"], i["next_cursor"]) for i in page["items"] if i["next_cursor"]]
        if page["next_cursor"]:
            pages.append((parent, page["next_cursor"]))
    assert len(seen) == 443


def _nodes(body: dict) -> dict[str, dict]:
    """Every node of a release answer by id (the release included)."""
    found, stack = {}, [body]
    while stack:
        node = stack.pop()
        found[node["id"]] = node
        stack += node["children"] or []
    return found


async def test_export_neutralises_formulas_and_streams_every_entity(api, admin_headers, client, settings, unique):
    key = f"csv-{unique}"
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=3)
    await start_release(client, settings, plan)
    formula = '=HYPERLINK("http://example.org","x")'
    result = await report(client, plan.id, [(f"app:{key}-w1-c1-a1", formula), (f"app:{key}-w1-c1-a2", "@SUM(1)")])
    await eventually(lambda: _version_at_least(api, f"{API}/releases/{plan.id}", admin_headers, result.version))

    exported = await api.get(f"{API}/releases/{plan.id}/export", params={"format": "csv"}, headers=admin_headers)
    assert exported.status_code == 200 and exported.headers["x-version"] == str(result.version)
    states = {row["id"]: row["state"] for row in csv.DictReader(io.StringIO(exported.text))}
    assert states[f"app:{key}-w1-c1-a1"] == "'" + formula and states[f"app:{key}-w1-c1-a2"] == "'@SUM(1)"
    assert states[f"app:{key}-w1-c1-a3"] == "pending" and len(states) == 1 + 1 + 1 + 1 + 3
    as_json = (await api.get(f"{API}/releases/{plan.id}/export", headers=admin_headers)).json()
    assert {e["id"]: e["state"] for e in as_json["entities"]}[f"app:{key}-w1-c1-a1"] == formula  # JSON stays exact
    assert as_json["version"] == result.version and as_json["stale"] is False


async def test_token_cache_drops_a_disabled_user_at_once(api, admin_headers):
    from tests.helpers import login

    username, password = f"watcher-{api_suffix()}", "watcher-password-1"
    created = await api.post(
        f"{API}/users", json={"username": username, "password": password, "role": "viewer"}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    headers = await login(api, username, password)
    tokens = services.current().tokens

    async def login_recorded() -> bool:  # the login's own account change bumps the version (and empties the cache)
        me = (await api.get(f"{API}/users/me", headers=headers)).json()
        return me["username"] == username and me["last_login_at"] is not None

    assert await eventually(login_recorded)
    await api.get(f"{API}/users/me", headers=headers)
    hits = tokens.hits
    assert (await api.get(f"{API}/users/me", headers=headers)).status_code == 200
    assert tokens.hits == hits + 1  # admitted from the cache, not decoded again

    disabled = await api.patch(f"{API}/users/{username}", json={"enabled": False}, headers=admin_headers)
    assert disabled.status_code == 200, disabled.text
    refused = await api.get(f"{API}/users/me", headers=headers)  # no wait: the accounts version moved
    assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"


def api_suffix() -> str:
    import uuid

    return uuid.uuid4().hex[:8]


async def test_api_skips_the_page_middleware_and_stats_show_loop_lag(api, admin_headers):
    page = await api.get("/login")
    assert page.status_code == 200 and "set-cookie" in page.headers  # pages get NiceGUI's session cookie
    health = await api.get(f"{API}/health")
    assert health.status_code == 200 and "set-cookie" not in health.headers  # the API never touches sessions

    async def sampled() -> dict:
        lag = (await api.get(f"{API}/stats", headers=admin_headers)).json()["loop_lag"]
        return lag if lag["samples"] >= 1 else {}

    lag = await eventually(sampled, what="a loop-lag sample (a 50 ms ticker)")
    assert 0 <= lag["p50_ms"] <= lag["p99_ms"] <= lag["max_ms"]
