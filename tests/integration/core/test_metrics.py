"""GET /metrics: Prometheus text from the real console (requests by route template, Temporal calls, logins, SSE,
mirrors, accounts), the optional token, the off switch; and the request middleware on a tiny Starlette app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from nicegui.testing import User

from release_console.core.config import get_settings
from release_console.runtime.metrics import DURATION_BUCKETS, OTHER
from release_console.temporal.releases import build_plan, start_release
from tests.integration.conftest import usable_console
from tests.integration.ui.helpers import accounts_ready
from tests.unit.core.test_metrics import TOKEN, samples, value

API = "/api/v1"






async def scrape(api: httpx.AsyncClient, headers: dict[str, str] | None = None) -> dict:
    response = await api.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


# ---- the real console -------------------------------------------------------------------------------------------
async def test_requests_are_counted_by_route_template(api, admin_headers, client, settings, unique):
    plan = build_plan(f"metrics-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    await start_release(client, settings, plan)
    before = await scrape(api)
    release_route = f"{API}/releases/{{release_id}}"
    health = (await api.get(f"{API}/health")).status_code
    read = await api.get(f"{API}/releases/{plan.id}", headers=admin_headers)
    assert read.status_code == 200, read.text
    unauthenticated = (await api.get(f"{API}/releases/{plan.id}")).status_code
    missing = await api.get(f"{API}/no-such-{unique}", headers=admin_headers)
    page = await api.get(f"/no-such-page-{unique}", follow_redirects=False)
    login_page = await api.get("/login")
    after = await scrape(api)

    def delta(**labels: str) -> float:
        name = "release_console_http_requests_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(route=f"{API}/health", method="GET", status=str(health)) == 1
    assert delta(route=release_route, method="GET", status="200") == 1
    assert delta(route=release_route, method="GET", status=str(unauthenticated)) == 1 and unauthenticated == 401
    assert delta(route="/login", method="GET", status=str(login_page.status_code)) == 1
    assert delta(route="/metrics", method="GET", status="200") >= 1  # the first scrape
    # unknown paths never become labels of their own
    routes = {labels["route"] for labels, _ in after["release_console_http_requests_total"]}
    assert not [r for r in routes if unique in r or plan.id in r], routes
    unmatched = [missing.status_code, page.status_code]  # an unknown API path (404), an unknown page (to login)
    for status in set(unmatched):
        assert delta(route=OTHER, method="GET", status=str(status)) == unmatched.count(status)

    buckets = [(labels, v) for labels, v in after["release_console_http_request_duration_seconds_bucket"]
               if labels["route"] == release_route and labels["method"] == "GET"]
    assert [labels["le"] for labels, _ in buckets] == [*(str(float(b)) for b in DURATION_BUCKETS), "+Inf"]
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and counts[-1] >= 2  # cumulative; at least the 200 and the 401
    assert value(after, "release_console_http_request_duration_seconds_count", route=release_route, method="GET") \
        == counts[-1]


async def test_temporal_mirror_and_instance_figures(api, admin_headers, client, settings, unique):
    plan = build_plan(f"metrics-t-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, plan)
    before = await scrape(api)
    assert (await api.get(f"{API}/releases/{plan.id}", headers=admin_headers)).status_code == 200
    after = await scrape(api)

    def calls(scrape: dict, outcome: str) -> float:
        return sum(v for labels, v in scrape.get("release_console_temporal_calls_total", [])
                   if labels["outcome"] == outcome)

    assert calls(after, "ok") > calls(before, "ok")  # the release was loaded with queries
    kinds = {labels["kind"] for labels, _ in after["release_console_temporal_calls_total"]}
    assert any(kind.startswith("query:") for kind in kinds), kinds
    assert value(after, "release_console_mirrors_watched") >= 1
    assert value(after, "release_console_mirrors_stale") == 0
    assert value(after, "release_console_temporal_up") == 1
    for name in ("releases_total", "releases_indexed", "releases_unreadable", "entities", "file_bytes", "queries_total",
                 "query_failures_total"):
        assert f"release_console_entity_index_{name}" in after, name
    assert value(after, "release_console_accounts_loaded") == 1
    from release_console import services

    assert value(after, "release_console_accounts_version") == services.current().accounts.version
    assert value(after, "release_console_accounts_queries_total") >= 1
    assert "release_console_accounts_version_age_seconds" in after
    assert value(after, "release_console_instance_info", instance_name=get_settings().instance_name) == 1
    for name in ("release_console_event_loop_lag_p99_seconds", "release_console_ui_clients_connected",
                 "release_console_sse_streams", "process_resident_memory_bytes"):
        assert name in after, name


async def test_login_failures_and_throttles_are_counted(api, unique):
    before = await scrape(api)
    codes = []
    while 429 not in codes and len(codes) < 20:  # wrong passwords until the throttle steps in
        response = await api.post(f"{API}/login/access-token",
                                  data={"username": f"nobody-{unique}", "password": f"wrong-{unique}"})
        codes.append(response.status_code)
    assert codes[-1] == 429 and set(codes[:-1]) == {401}, codes
    after = await scrape(api)

    def delta(name: str, channel: str) -> float:
        return value(after, name, channel=channel) - value(before, name, channel=channel)

    assert delta("release_console_login_failures_total", "api") == len(codes) - 1
    assert delta("release_console_login_throttled_total", "api") == 1
    assert delta("release_console_login_failures_total", "ui") == 0


async def test_login_page_failures_are_counted(user: User, unique):
    await accounts_ready()
    before = samples((await user.http_client.get("/metrics")).text)
    await user.open("/login")
    await user.should_see(marker="login-button")
    user.find(marker="username").type(f"nobody-{unique}")
    user.find(marker="password").type("wrong-password-x")
    user.find(marker="login-button").click()
    await user.should_see("Incorrect username or password", retries=50)
    after = samples((await user.http_client.get("/metrics")).text)
    name = "release_console_login_failures_total"
    assert value(after, name, channel="ui") == value(before, name, channel="ui") + 1
    assert value(after, name, channel="api") == value(before, name, channel="api")
    assert value(after, "release_console_ui_clients") >= 1  # the login page's client


async def test_open_event_streams_are_counted(api, admin_headers, client, settings, unique):
    from tests.integration.api.helpers import event_stream

    plan = build_plan(f"metrics-sse-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, plan)
    idle = value(await scrape(api), "release_console_sse_streams")
    async with event_stream(f"http://test{API}/releases/{plan.id}/events", admin_headers) as stream:
        await stream.until(lambda e: e[-1]["event"] == "hello")
        assert value(await scrape(api), "release_console_sse_streams") == idle + 1
    for _ in range(100):  # the stream's generator is finalized when the console notices the disconnect
        if value(await scrape(api), "release_console_sse_streams") == idle:
            break
        await asyncio.sleep(0.05)
    assert value(await scrape(api), "release_console_sse_streams") == idle


async def test_metrics_are_not_in_the_rest_schema(api):
    schema = (await api.get(f"{API}/openapi.json")).json()
    assert not [path for path in schema["paths"] if "metrics" in path]
    assert f"{API}/health" in schema["paths"]


@pytest.fixture
def metrics_env(request: pytest.FixtureRequest, console_env: Callable[..., None]) -> None:
    """Environment variables (the test's ``metrics_env`` parameter) set before the console under test starts."""
    console_env(**request.param)


@pytest.fixture
async def console(metrics_env: None, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    async with usable_console(request) as console:
        http_client = console.http_client
        yield http_client


@pytest.mark.parametrize("metrics_env", [{"METRICS_TOKEN": TOKEN}], indirect=True)
async def test_token_is_required_when_set(console):
    for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"}):
        refused = await console.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["code"] == "not_authenticated"
        assert refused.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in refused.text
    scraped = await scrape(console, {"Authorization": f"Bearer {TOKEN}"})
    assert value(scraped, "release_console_http_requests_total", route="/metrics", method="GET", status="401") >= 5


@pytest.mark.parametrize("metrics_env", [{"METRICS_ENABLED": "false"}], indirect=True)
async def test_metrics_can_be_switched_off(console):
    response = await console.get("/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")  # the API's 404, not a login redirect
    assert (await console.get(f"{API}/health")).status_code == 200


# ---- the middleware and the token check alone ----------------------------------------------------------------------






