"""A release of 10,000 apps is loaded in snapshot pages and served in pages (never one huge answer)."""

from __future__ import annotations

import pytest

from release_console import services
from release_console.temporal.releases import build_plan, report, start_release

API = "/api/v1"


@pytest.mark.slow
async def test_ten_thousand_apps_served_in_pages(api, admin_headers, client, settings, unique):
    key = f"big-{unique}"
    plan = build_plan(key, waves=10, clusters_per_wave=10, apps_per_bundle=100)  # 10,000 apps, 10,211 entities
    await start_release(client, settings, plan)
    await report(client, plan.id, [(f"app:{key}-w10-c10-a100", "failed")])

    response = await api.get(f"{API}/releases/{plan.id}", params={"depth": 4, "limit": 1000}, headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["apps_total"] == 10_000 and body["entity_count"] == 10_211
    assert body["counts"]["app"] == {"pending": 9_999, "failed": 1}
    assert body["truncated"] is True  # the node budget stops the expansion; the rest is paged
    waves = body["children"]
    assert len(waves) == 10 and all(len(w["children"]) == 10 for w in waves)  # breadth-first: upper levels whole
    nodes = sum(1 + len(c["children"] or []) for w in waves for c in w["children"])  # clusters and bundles
    apps = sum(len(b["children"] or []) for w in waves for c in w["children"] for b in c["children"])
    assert 10 + nodes + apps == 5000  # the node budget, exactly
    calls = services.current().stats.for_release(plan.id)
    assert calls["load:query:snapshot"] >= 3  # loaded in several snapshot pages

    bundle = f"bundle:{key}-w10-c10"
    url = f"{API}/releases/{plan.id}/entities/{bundle}/children"
    seen, cursor = [], None
    while True:
        page = (await api.get(url, params={"limit": 30, **({"cursor": cursor} if cursor else {})},
                              headers=admin_headers)).json()
        assert len(page["items"]) <= 30 and page["total"] == 100
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 100 == len(set(seen)) and seen[-1] == f"app:{key}-w10-c10-a100"
    failed = (await api.get(f"{url}?state=failed", headers=admin_headers)).json()
    assert [i["id"] for i in failed["items"]] == [f"app:{key}-w10-c10-a100"]
    shallow = (await api.get(f"{API}/releases/{plan.id}?depth=2&limit=5", headers=admin_headers)).json()
    assert len(shallow["children"]) == 5 and shallow["next_cursor"] == "o:5" and shallow["truncated"] is False
    assert all(len(w["children"]) == 5 and w["next_cursor"] == "o:5" for w in shallow["children"])
