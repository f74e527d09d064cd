"""Metrics without a console: route labels by template, the token check, a scrape before start-up."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from release_console.api.routes.metrics import token_matches
from release_console.core.config import get_settings
from release_console.runtime.metrics import OTHER, HttpMetrics

TOKEN = "metrics-test-token-1"


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a scrape by sample name (``..._total``, ``..._bucket`` …) as (labels, value)."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(scrape: dict, name: str, **labels: str) -> float:
    """The value of the one sample ``name`` with exactly these labels (0 when absent)."""
    matching = [v for sample_labels, v in scrape.get(name, []) if sample_labels == labels]
    assert len(matching) <= 1, (name, labels, matching)
    return matching[0] if matching else 0.0


def tiny_app() -> tuple[HttpMetrics, CollectorRegistry]:
    async def item(request):
        return PlainTextResponse(request.path_params["item_id"])

    async def fail(request):
        raise RuntimeError("boom")

    async def asset(request):
        return PlainTextResponse("js")

    inner = Starlette(routes=[
        Route("/items/{item_id}", item, methods=["GET", "POST"]),
        Route("/fail", fail),
        Mount("/_nicegui", routes=[Route("/{version}/static/{name:path}", asset)]),
    ])
    registry = CollectorRegistry()
    requests = Counter("t_requests", "", ["route", "method", "status"], registry=registry)
    durations = Histogram("t_duration_seconds", "", ["route", "method"], registry=registry)
    return HttpMetrics(inner, requests, durations), registry


async def test_middleware_labels_routes_by_template():
    app, registry = tiny_app()
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        for n in range(3):
            assert (await http.get(f"/items/{n}")).status_code == 200
        assert (await http.post("/items/9")).status_code == 200
        assert (await http.delete("/items/9")).status_code == 405
        assert (await http.get("/unknown/1")).status_code == 404
        assert (await http.request("BREW", "/items/1")).status_code == 405
        assert (await http.get("/_nicegui/3.0/static/app.js")).status_code == 200
        assert (await http.get("/fail")).status_code == 500

    def count(route: str, method: str, status: str) -> float | None:
        return registry.get_sample_value("t_requests_total", {"route": route, "method": method, "status": status})

    assert count("/items/{item_id}", "GET", "200") == 3
    assert count("/items/{item_id}", "POST", "200") == 1
    assert count("/items/{item_id}", "DELETE", "405") == 1
    assert count(OTHER, "GET", "404") == 1
    assert count("/items/{item_id}", OTHER, "405") == 1  # methods outside the standard set are lumped
    assert count("/_nicegui", "GET", "200") == 1
    assert count("/fail", "GET", "500") == 1
    assert registry.get_sample_value("t_duration_seconds_count", {"route": "/items/{item_id}", "method": "GET"}) == 3
    labels = {s.labels["route"] for m in registry.collect() for s in m.samples if "route" in s.labels}
    assert labels == {"/items/{item_id}", OTHER, "/_nicegui", "/fail"}


def test_token_check():
    expected = TOKEN.encode()
    assert token_matches(f"Bearer {TOKEN}", expected)
    assert token_matches(f"bearer {TOKEN}", expected)
    wrong = (None, "", TOKEN, f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}1", f"Token {TOKEN}", "Bearer ", "Bearer é")
    for header in wrong:
        assert not token_matches(header, expected), header


def test_a_scrape_before_start_up_shows_what_there_is():
    from release_console import services as services_module
    from release_console.runtime.metrics import ConsoleMetrics

    assert services_module._current is None  # no console running in this test
    scraped = samples(ConsoleMetrics(get_settings()).render().decode())
    assert value(scraped, "release_console_instance_info", instance_name=get_settings().instance_name) == 1
    assert "release_console_login_failures_total" in scraped and "release_console_ui_clients" in scraped
    assert "release_console_mirrors_watched" not in scraped and "release_console_temporal_calls_total" not in scraped








