"""Bad input gets a precise 4xx JSON error and never reaches Temporal; Temporal trouble gets 503 + Retry-After."""

from __future__ import annotations

import uuid

import pytest

from release_console import services
from release_console.contract.shapes import ReleaseWorkflowInput
from release_console.temporal.releases import build_plan, start_release

API = "/api/v1"

BAD_RELEASE_IDS = [
    "rel-001",  # no type
    "app:rel-001",  # wrong type
    "release:",  # empty id part
    "release:" + "x" * 10_000,  # far too long
    "release:réléase",  # unicode
    "release:..%2F..",  # path trick
    "release:%2E%2E",  # dots
    "release:a b",
    "%00",
]


def temporal_calls() -> int:
    return services.current().stats.total


@pytest.mark.parametrize("bad", BAD_RELEASE_IDS)
async def test_malformed_release_id_is_422_without_a_temporal_call(api, admin_headers, bad):
    before = temporal_calls()
    for path in (f"/releases/{bad}", f"/releases/{bad}/entities/app:x", f"/releases/{bad}/events"):
        response = await api.get(API + path, headers=admin_headers)
        assert response.status_code == 422, (path, response.text)
        body = response.json()
        assert body["code"] == "invalid_id" and "entity id" in body["detail"], body
    assert temporal_calls() == before


@pytest.mark.parametrize("bad", ["app", "app:", "wave:..", "app:..%2F..", "app:a%2Fb", "bundle:" + "y" * 500, "x:y"])
async def test_malformed_entity_id_is_422(api, admin_headers, bad):
    before = temporal_calls()
    release = "/releases/release:r1"
    paths = (f"/entities/{bad}", f"{release}/entities/{bad}", f"{release}/entities/{bad}/children")
    for path in paths:
        response = await api.get(API + path, headers=admin_headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "invalid_id"
    assert temporal_calls() == before


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=-1", "limit=100000", "limit=abc", "cursor=forged", "cursor=" + "A" * 500, "state=", "depth=9"],
)
async def test_bad_parameters_are_422(api, admin_headers, query):
    before = temporal_calls()
    path = f"{API}/releases?{query}" if "depth" not in query else f"{API}/releases/release:r1?{query}"
    response = await api.get(path, headers=admin_headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] in {"invalid_parameter", "invalid_cursor"} and body["detail"]
    assert temporal_calls() <= before + 1  # the release list may refresh itself, but no query is ever made


async def test_forged_children_cursor_and_unknown_things(api, admin_headers, client, settings, unique):
    plan = build_plan(f"err-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    await start_release(client, settings, plan)
    base = f"{API}/releases/{plan.id}"
    forged = await api.get(f"{base}/entities/{plan.id}/children?cursor=o:999", headers=admin_headers)
    assert forged.status_code == 422 and forged.json()["code"] == "invalid_cursor"
    unknown_entity = await api.get(f"{base}/entities/app:not-there", headers=admin_headers)
    assert unknown_entity.status_code == 404 and unknown_entity.json()["code"] == "entity_not_found"
    assert "app:not-there" in unknown_entity.json()["detail"] and plan.id in unknown_entity.json()["detail"]
    unknown_release = await api.get(f"{API}/releases/release:nope-{unique}", headers=admin_headers)
    assert unknown_release.status_code == 404 and unknown_release.json()["code"] == "release_not_found"
    assert f"release:nope-{unique}" in unknown_release.json()["detail"]
    bad_last_event = await api.get(f"{base}/events", headers={**admin_headers, "Last-Event-ID": "abc"})
    assert bad_last_event.status_code == 422


async def test_auth_required_except_health_and_ready(api):
    assert (await api.get(f"{API}/health")).json() == {"status": "ok"}
    ready = await api.get(f"{API}/ready")
    assert ready.status_code == 200 and ready.json()["temporal"] == "ok"
    for path in ("/releases", "/releases/release:r1", "/entities/app:x", "/stats", "/releases/release:r1/events"):
        response = await api.get(API + path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "not_authenticated"


async def test_release_without_worker_is_503_with_retry_after(api, admin_headers, client, settings, unique):
    release_id = f"release:noworker-{unique}"
    plan = build_plan(f"noworker-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await client.start_workflow(
        settings.RELEASE_WORKFLOW_TYPE,
        ReleaseWorkflowInput(plan=plan),
        id=release_id,
        task_queue=f"nobody-polls-{uuid.uuid4().hex[:6]}",
    )
    response = await api.get(f"{API}/releases/{release_id}", headers=admin_headers)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "worker_not_responding"
    assert int(response.headers["retry-after"]) >= 1
    await client.get_workflow_handle(release_id).terminate("test done")
