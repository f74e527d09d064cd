"""A workflow that claims to be a release but answers partly off-contract: what can be read is served, each node
that cannot is marked unreadable with its reason (REST, export, events), and only an unreadable release is 502."""

from __future__ import annotations

import csv
import io

from release_console.temporal.releases import build_plan, start_release
from tests.helpers import eventually
from tests.integration.api.helpers import event_stream
from tests.integration.stub_release import running
from tests.integration.ui.helpers import banner_texts, login, node_view, see_node

API = "/api/v1"
T = "2025-01-01T00:00:00Z"


def broken_rows(release_id: str) -> list:
    """A small release whose snapshot breaks the contract in every way a row can (``badroot-`` ids: its own row)."""
    key = release_id.split(":", 1)[1]
    if key.startswith("badroot-"):
        return [[release_id, None, 7, T], [f"wave:{key}-w1", release_id, "pending", None]]
    w1, w2, w3 = (f"wave:{key}-w{n}" for n in (1, 2, 3))
    return [
        [release_id, None, "deploying", T],
        [w1, release_id, "deploying", T],
        [f"cluster:{key}-c1", w1, "deploying", T],
        [f"bundle:{key}-c1", f"cluster:{key}-c1", "deploying", T],
        [f"app:{key}-a1", f"bundle:{key}-c1", "deployed", T],
        [f"app:{key}-a2", f"bundle:{key}-c1", "failed", T],
        [f"cluster:{key}-c2", w1, 7, T],  # wrong type: unreadable, with its subtree
        [f"bundle:{key}-c2", f"cluster:{key}-c2", "pending", None],
        [f"app:{key}-a3", f"bundle:{key}-c2", "pending", None],
        [f"app:{key}-orphan", f"bundle:{key}-ghost", "pending", None],  # parent never listed: under the release
        [f"app:{key}-misplaced", w1, "pending", None],  # parent of the wrong type: under that parent
        [w2, release_id, "pending", "yesterday"],  # not a time
        ["app:bad id", w1, "pending", None],  # no valid id: cannot be placed
        [w3, release_id, "pending", None],
        [w3, release_id, "deployed", None],  # listed twice: the first one is marked
    ]


def ghost_change(release_id: str) -> list[dict]:
    """One change, naming an entity the snapshot never lists."""
    return [{"version": 1, "id": f"app:{release_id.split(':', 1)[1]}-ghost", "state": "deployed", "updated_at": T}]


async def test_unreadable_rows_are_marked_and_the_rest_is_served(api, admin_headers, client, settings, unique):
    healthy = build_plan(f"fine-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, healthy)
    key = f"broken-{unique}"
    broken_id, bad_root = f"release:{key}", f"release:badroot-{unique}"
    async with running(client, broken_rows, broken_id, bad_root, changes_of=ghost_change):
        detail = await api.get(f"{API}/releases/{broken_id}", headers=admin_headers)
        unreadable = await api.get(f"{API}/releases/{broken_id}/entities/bundle:{key}-c2", headers=admin_headers)
        exported = await api.get(f"{API}/releases/{broken_id}/export", headers=admin_headers)
        as_csv = await api.get(f"{API}/releases/{broken_id}/export", params={"format": "csv"}, headers=admin_headers)
        async with event_stream(f"http://test{API}/releases/{broken_id}/events?since=0", admin_headers) as stream:
            events = await stream.until(lambda got: got[-1]["event"] == "change")
        root_broken = await api.get(f"{API}/releases/{bad_root}", headers=admin_headers)
        fine = await api.get(f"{API}/releases/{healthy.id}", headers=admin_headers)

    assert detail.status_code == 200, detail.text
    body = detail.json()
    nodes = {body["id"]: body}
    stack = list(body["children"])
    while stack:
        node = stack.pop()
        nodes[node["id"]] = node
        stack += node["children"] or []
    assert body["truncated"] is False and len(nodes) == body["entity_count"] == 14  # 13 rows placed + the ghost
    marked = {i: n["error"] for i, n in nodes.items() if n["state"] is None}
    assert set(marked) == {f"cluster:{key}-c2", f"bundle:{key}-c2", f"app:{key}-a3", f"app:{key}-orphan",
                           f"app:{key}-misplaced", f"wave:{key}-w2", f"wave:{key}-w3", f"app:{key}-ghost"}
    assert body["unreadable"] == 8 and body["unplaced"] == 1 and 1 <= len(body["problems"]) <= 10
    assert marked[f"cluster:{key}-c2"] == "state 7 is not a string"
    assert marked[f"app:{key}-a3"] == f"its parent bundle:{key}-c2 could not be read"
    assert "bundle:" + f"{key}-ghost is not listed before it" in marked[f"app:{key}-orphan"]
    assert nodes[f"app:{key}-orphan"]["parent"] == broken_id  # an orphan is shown under the release
    assert nodes[f"app:{key}-misplaced"]["parent"] == f"wave:{key}-w1"
    assert "not an ISO 8601 time" in marked[f"wave:{key}-w2"] and "listed twice" in marked[f"wave:{key}-w3"]
    assert "snapshot does not list it" in marked[f"app:{key}-ghost"]
    assert any("has no valid id" in p for p in body["problems"])
    assert nodes[f"app:{key}-a1"]["state"] == "deployed" and "error" not in nodes[f"app:{key}-a1"]
    # rollups count what was read, and only that
    assert body["counts"] == {"wave": {"deploying": 1}, "cluster": {"deploying": 1}, "bundle": {"deploying": 1},
                              "app": {"deployed": 1, "failed": 1}}
    assert body["apps_total"] == 2 and body["progress"] == 100
    assert nodes[f"cluster:{key}-c2"]["counts"] == {} and nodes[f"cluster:{key}-c2"]["child_count"] == 1

    assert unreadable.status_code == 200
    entity = unreadable.json()
    assert entity["entity"]["state"] is None and entity["parent"]["state"] is None
    assert entity["entity"]["error"] == f"its parent cluster:{key}-c2 could not be read"
    rows = {e["id"]: e for e in exported.json()["entities"]}
    cluster = rows[f"cluster:{key}-c2"]
    assert cluster["state"] is None and cluster["error"] == "state 7 is not a string"
    assert rows[f"app:{key}-a1"]["error"] is None
    csv_rows = {r["id"]: r for r in csv.DictReader(io.StringIO(as_csv.text))}
    assert csv_rows[f"cluster:{key}-c2"]["state"] == "" and csv_rows[f"cluster:{key}-c2"]["error"]
    assert [e["event"] for e in events] == ["hello", "change"]  # the stream serves an unreadable node's change
    assert events[-1]["data"] == {"id": f"app:{key}-ghost", "state": "deployed", "version": 1, "updated_at": T}

    assert root_broken.status_code == 502, root_broken.text
    assert root_broken.json()["code"] == "release_data_invalid" and bad_root in root_broken.json()["detail"]
    assert "Traceback" not in root_broken.text
    assert fine.status_code == 200 and fine.json()["unreadable"] == 0 and fine.json()["problems"] == []


async def test_release_page_marks_unreadable_nodes_and_says_how_many(user, client, unique):
    key = f"broken-{unique}"
    release_id = f"release:{key}"
    async with running(client, broken_rows, release_id, changes_of=ghost_change):
        await login(user, f"/releases/{release_id}")
        await see_node(user, f"cluster:{key}-c2")  # unreadable branches sort first and open like failures
        warnings = await eventually(lambda: [t for t in banner_texts(user, "warning") if "could not be read" in t])
        cluster = node_view(user, f"cluster:{key}-c2")
        bundle = node_view(user, f"bundle:{key}-c2")
        ghost = node_view(user, f"app:{key}-ghost")
        fine = node_view(user, f"cluster:{key}-c1")
    assert "8 nodes could not be read" in warnings[0] and "1 row had no valid id" in warnings[0]
    assert (cluster["s"], cluster["e"]) == ("unreadable", "state 7 is not a string") and cluster["k"] == []
    assert bundle["e"] == f"its parent cluster:{key}-c2 could not be read"
    assert "snapshot does not list it" in ghost["e"]
    assert fine["s"] == "deploying" and "e" not in fine and [k[0] for k in fine["k"]] == ["failed", "deployed"]
