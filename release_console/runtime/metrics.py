"""Prometheus metrics of one console (served at GET /metrics by api/routes/metrics.py).

Three sources, each as cheap as it can be:

- HTTP requests: :class:`HttpMetrics`, an ASGI middleware around the whole dispatch, counts every request by route
  *template* (``/api/v1/releases/{release_id}``, never the raw path), method and status, and times it until the
  response has ended (for SSE and exports: until the stream ends). Per request it costs two dict look-ups, a
  counter increment and a histogram observation; label children and route labels are cached.
- Counts kept where the events happen (login failures and throttles): plain integers in
  :data:`tally`, bumped by the login routes, read at scrape time; open SSE streams come from runtime/drain.py.
- Everything else is read at scrape time by :class:`ConsoleCollector` from the running services (Temporal calls from
  ``ReadPathStats``, mirrors, UI clients, event-loop lag, accounts), so nothing is added to the hot paths and data
  still flows one way. Before the services run, a scrape shows what there is; it never fails. The services are
  handed in as a provider (``parts``) when the app is assembled (app.setup): core/ never imports them.

Each console app has its own :class:`CollectorRegistry` (NiceGUI's test fixtures re-run main.py in one process, so
the global default registry would refuse the same names twice).
"""

from __future__ import annotations

import time
from collections import Counter as Tallies
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.routing import iter_route_contexts
from loguru import logger
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.config import Settings
from . import drain

METRICS_PATH = "/metrics"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The text format that :func:`generate_latest` writes."""
PREFIX = "release_console_"
OTHER = "other"
"""Route label of requests that matched no route (unknown paths, redirects)."""
NICEGUI_ASSETS = "/_nicegui"
"""One route label for NiceGUI's internal routes (scripts, styles, socket.io polling)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CHANNELS = ("api", "ui")


class Tally:
    """Counts kept by the code that sees the events; plain ints (one event loop), read at scrape time."""

    def __init__(self) -> None:
        self.login_failures: Tallies[str] = Tallies()
        self.login_throttled: Tallies[str] = Tallies()


tally = Tally()
"""Process-wide: counters only ever grow; the SSE gauge is the streams open in this process."""


def count_login_failure(channel: str) -> None:
    """A login refused for wrong credentials (``channel``: ``api`` or ``ui``)."""
    tally.login_failures[channel] += 1


def count_login_throttled(channel: str) -> None:
    """A login refused by the throttle (``channel``: ``api`` or ``ui``)."""
    tally.login_throttled[channel] += 1


def template_label(template: object) -> str:
    """A route template as a label: NiceGUI's own routes (``/_nicegui/…``, ``/_nicegui_ws``) lumped as one."""
    if not isinstance(template, str) or not template.startswith("/"):
        return OTHER
    return NICEGUI_ASSETS if template.startswith(NICEGUI_ASSETS) else template


def route_label(scope: Scope) -> str:
    """The ``route`` label of a finished request from the route Starlette's router left in ``scope["route"]``:
    its template below any mount, ``other`` when no route matched.

    FastAPI (0.165) leaves the *original* route of an included router there, whose template lacks the router
    prefixes: :class:`HttpMetrics` maps those to their full templates first (``iter_route_contexts``)."""
    route = scope.get("route")
    if route is None:
        return OTHER
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return OTHER
    root = scope.get("root_path", "")
    return template_label(root[len(scope.get("app_root_path", root)) :] + template)  # a mount's prefix, if any


class HttpMetrics:
    """ASGI middleware: counts and times HTTP requests (websockets and lifespan pass untouched)."""

    def __init__(self, app: ASGIApp, requests: Counter, durations: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.durations = durations
        self._routes: dict[int, tuple[object, str]] = {}
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an error before the response started: the server answers 500

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_seen)
        finally:
            self.observe(scope, status, time.perf_counter() - started)

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Record one finished request."""
        route = scope.get("route")
        cached = self._routes.get(id(route))
        label = cached[1] if cached is not None and cached[0] is route else self._learn(scope, route)
        method = scope["method"]
        if method not in METHODS:
            method = OTHER
        counter = self._counted.get((label, method, status))
        if counter is None:
            counter = self._counted[(label, method, status)] = self.requests.labels(label, method, str(status))
        counter.inc()
        timer = self._timed.get((label, method))
        if timer is None:
            timer = self._timed[(label, method)] = self.durations.labels(label, method)
        timer.observe(seconds)

    def _learn(self, scope: Scope, route: object) -> str:
        """A route not seen before: learn the full templates of every route of the app that answered (a route
        object lives as long as its app, so the cache stays bounded)."""
        if route is None:
            return OTHER
        routes = getattr(scope.get("app"), "routes", None)
        if routes is not None:
            try:
                for context in iter_route_contexts(routes):
                    known = context.original_route
                    self._routes[id(known)] = (known, template_label(context.path_format))
            except Exception as exc:  # never fail a request over a label
                logger.warning("metrics: routes not mapped ({})", type(exc).__name__)
        cached = self._routes.get(id(route))
        if cached is None or cached[0] is not route:
            cached = self._routes[id(route)] = (route, route_label(scope))
        return cached[1]


def _seconds(ms: float) -> float:
    return ms / 1000.0


Services = Any  # Any: services.Services, which runtime/ may not import (tests/unit/test_layers.py), read by name
ServiceParts = Callable[[], Services]
"""What the collector reads at scrape time: the console's services as far as they have started (attributes
``stats``, ``loop_lag``, and ``gateway``, ``health``, ``accounts``, ``mirrors``, ``entity_index``, each None until
started), or None before there are any."""


def no_services() -> None:
    """The provider of a registry without services (tests, tools): scrapes show the process figures only."""
    return None


class ConsoleCollector(Collector):
    """Reads the running services at scrape time; a part that fails is left out (and logged), never the scrape."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time,
                 parts: ServiceParts = no_services) -> None:
        self.instance_name = settings.instance_name
        self.clock = clock
        self.parts = parts
        self.accounts_seen: tuple[int, float] = (-1, clock())
        """(accounts version, when this collector first saw it): the version age is measured from there (a version
        already loaded when the console started counts from the collector's creation, i.e. the start)."""

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily(f"{PREFIX}instance", "This console instance.",
                               value={"instance_name": self.instance_name})
        yield from self._tally()
        try:
            yield from self._clients()
        except Exception as exc:  # a scrape must never fail
            logger.warning("metrics: UI clients left out ({})", type(exc).__name__)
        try:
            services = self.parts()
        except Exception as exc:  # a scrape must never fail
            logger.warning("metrics: the services left out ({})", type(exc).__name__)
            return
        if services is None:
            return  # not started yet
        for part in (self._temporal, self._mirrors, self._entity_index, self._loop_lag, self._accounts):
            try:
                yield from part(services)
            except Exception as exc:
                logger.warning("metrics: {} left out ({})", part.__name__.strip("_"), type(exc).__name__)

    def _tally(self) -> Iterator[Metric]:
        streams = drain.current().streams  # kept by the drain, which waits for them on SIGTERM
        yield GaugeMetricFamily(f"{PREFIX}sse_streams", "Open server-sent event streams.", value=streams)
        for name, counts, text in (
            ("login_failures", tally.login_failures, "Logins refused for wrong credentials."),
            ("login_throttled", tally.login_throttled, "Logins refused by the login throttle."),
        ):
            family = CounterMetricFamily(f"{PREFIX}{name}", text, labels=["channel"])
            for channel in sorted({*CHANNELS, *counts}):
                family.add_metric([channel], counts[channel])
            yield family

    def _clients(self) -> Iterator[Metric]:
        from nicegui import Client

        clients = list(Client.instances.values())
        yield GaugeMetricFamily(f"{PREFIX}ui_clients", "NiceGUI page clients held by this console.", value=len(clients))
        connected = sum(1 for c in clients if c.has_socket_connection)
        yield GaugeMetricFamily(f"{PREFIX}ui_clients_connected", "UI clients with a live socket connection.",
                                value=connected)

    def _temporal(self, services: Services) -> Iterator[Metric]:
        stats = services.stats
        calls = CounterMetricFamily(f"{PREFIX}temporal_calls", "Temporal calls of the read path by kind and outcome.",
                                    labels=["kind", "outcome"])
        for kind, count in sorted(stats.calls.items()):
            failed = stats.failures.get(kind, 0)
            calls.add_metric([kind, "ok"], count - failed)
            calls.add_metric([kind, "error"], failed)
        yield calls
        if services.gateway is not None:
            yield CounterMetricFamily(f"{PREFIX}temporal_short_circuits", "Reads answered 503 at once while Temporal "
                                      "was down (not sent).", value=services.gateway.short_circuits)
        if services.health is not None:
            yield GaugeMetricFamily(f"{PREFIX}temporal_up", "1 while Temporal answers, else 0.",
                                    value=1 if services.health.up else 0)
        if services.accounts is not None:
            yield CounterMetricFamily(f"{PREFIX}accounts_queries", "Queries sent to the accounts workflow.",
                                      value=services.accounts.queries)

    def _mirrors(self, services: Services) -> Iterator[Metric]:
        if services.mirrors is None:
            return
        mirrors = services.mirrors.mirrors
        now = self.clock()
        running = [m for m in mirrors if not m.closed]
        oldest = max((now - m.as_of.timestamp() for m in running), default=0.0)
        yield GaugeMetricFamily(f"{PREFIX}mirrors_watched", "Releases mirrored (watched) by this console.",
                                value=len(mirrors))
        yield GaugeMetricFamily(f"{PREFIX}mirrors_running", "Mirrored releases still running (polled).",
                                value=len(running))
        yield GaugeMetricFamily(f"{PREFIX}mirrors_stale", "Mirrors whose last confirmation with Temporal failed.",
                                value=sum(1 for m in mirrors if m.stale))
        yield GaugeMetricFamily(f"{PREFIX}mirrors_staleness_seconds_max", "Seconds since the least recently "
                                "confirmed running mirror was confirmed.", value=max(0.0, oldest))
        yield GaugeMetricFamily(f"{PREFIX}mirror_listeners", "Subscribers of the mirrors (UI clients, SSE streams).",
                                value=sum(m.listener_count for m in mirrors))
        yield CounterMetricFamily(f"{PREFIX}mirrors_evicted", "Unwatched mirrors stopped early to stay under "
                                  "MAX_MIRRORS.", value=services.mirrors.evicted)
        refusals = CounterMetricFamily(f"{PREFIX}quota_refusals", "Requests refused 429 because one user passed a "
                                       "cap (new_mirror, entity_lookup, sse_stream).", labels=["kind"])
        quotas = services.mirrors.quotas
        for kind in quotas.kinds:
            refusals.add_metric([kind], quotas.refused[kind])
        yield refusals

    def _entity_index(self, services: Services) -> Iterator[Metric]:
        if services.entity_index is None:
            return
        progress = services.entity_index.progress()
        for name, value, text in (
            ("entity_index_releases_total", progress.total, "Releases in visibility (what the entity index covers)."),
            ("entity_index_releases_indexed", progress.indexed, "Releases in the entity index."),
            ("entity_index_releases_unreadable", progress.unreadable, "Releases whose snapshot could not be read "
             "(retried with backoff)."),
            ("entity_index_entities", progress.entities, "Entity rows of the indexed releases."),
            ("entity_index_file_bytes", progress.file_bytes, "Size of the entity index file on disk."),
        ):
            yield GaugeMetricFamily(f"{PREFIX}{name}", text, value=value)
        yield CounterMetricFamily(f"{PREFIX}entity_index_queries", "Snapshot pages the entity index asked for.",
                                  value=progress.queries)
        yield CounterMetricFamily(f"{PREFIX}entity_index_query_failures", "Snapshot pages the entity index asked "
                                  "for that failed.", value=progress.query_failures)

    def _loop_lag(self, services: Services) -> Iterator[Metric]:
        figures = services.loop_lag.figures()
        for name, value, text in (
            ("p50", figures.p50_ms, "median"),
            ("p99", figures.p99_ms, "99th percentile"),
            ("max", figures.max_ms, "maximum"),
        ):
            yield GaugeMetricFamily(f"{PREFIX}event_loop_lag_{name}_seconds",
                                    f"Event-loop lag over the last minute: {text}.", value=_seconds(value))
        yield GaugeMetricFamily(f"{PREFIX}event_loop_lag_max_seen_seconds", "Largest event-loop lag since start.",
                                value=_seconds(services.loop_lag.max_seen_ms))
        yield CounterMetricFamily(f"{PREFIX}gc_full_collections", "Full garbage collections since start.",
                                  value=figures.gc_full_collections)

    def _accounts(self, services: Services) -> Iterator[Metric]:
        accounts = services.accounts
        if accounts is None:
            return
        loaded = accounts.loaded.is_set()
        yield GaugeMetricFamily(f"{PREFIX}accounts_loaded", "1 once the accounts are loaded from Temporal.",
                                value=1 if loaded else 0)
        if not loaded:
            return
        version, seen_at = self.accounts_seen
        if accounts.version != version:
            now = self.clock()
            seen_at = seen_at if version == -1 else now  # the first version seen: counted from the start
            self.accounts_seen = (accounts.version, seen_at)
        yield GaugeMetricFamily(f"{PREFIX}accounts_version", "Version of the cached accounts.", value=accounts.version)
        yield GaugeMetricFamily(f"{PREFIX}accounts_version_age_seconds", "Seconds since the cached accounts version "
                                "changed (as seen by scrapes; the first one counts from the start).",
                                value=max(0.0, self.clock() - seen_at))


@dataclass(frozen=True)
class Figure:
    """One number another part of the console reports (read at scrape time)."""

    name: str
    help: str
    counter: bool = True
    """A count since start (else a gauge: a current value)."""


class FiguresCollector(Collector):
    """``read()`` at scrape time, one metric per :class:`Figure` (a failing read leaves them out, logged)."""

    def __init__(self, figures: Sequence[Figure], read: Callable[[], Mapping[str, float]]) -> None:
        self.figures = figures
        self.read = read

    def collect(self) -> Iterator[Metric]:
        try:
            values = self.read()
        except Exception as exc:  # a scrape must never fail
            logger.warning("metrics: figures left out ({})", type(exc).__name__)
            return
        for figure in self.figures:
            family = CounterMetricFamily if figure.counter else GaugeMetricFamily
            yield family(f"{PREFIX}{figure.name}", figure.help, value=values.get(figure.name, 0))


class ConsoleMetrics:
    """One app's registry: HTTP request metrics, the console collector and the process/GC/platform collectors."""

    def __init__(self, settings: Settings, parts: ServiceParts = no_services) -> None:
        self.token = settings.METRICS_TOKEN.get_secret_value() if settings.METRICS_TOKEN is not None else None
        self.registry = CollectorRegistry()
        self.requests = Counter(f"{PREFIX}http_requests", "HTTP requests by route template, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.durations = Histogram(f"{PREFIX}http_request_duration_seconds", "HTTP request duration until the "
                                   "response ended (streams: until they end).", ["route", "method"],
                                   buckets=DURATION_BUCKETS, registry=self.registry)
        self.collector = ConsoleCollector(settings, parts=parts)
        self.registry.register(self.collector)
        for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(standard)

    def add_figures(self, figures: Sequence[Figure], read: Callable[[], Mapping[str, float]]) -> None:
        """Export numbers another part keeps (read at scrape time)."""
        self.registry.register(FiguresCollector(figures, read))

    def middleware(self, app: ASGIApp) -> HttpMetrics:
        """``app`` with its HTTP requests counted."""
        return HttpMetrics(app, self.requests, self.durations)

    def render(self) -> bytes:
        """The Prometheus text exposition of everything."""
        return generate_latest(self.registry)
