"""Several consoles behind a real nginx, set up by running deploy/README.md's steps word for word.

Real processes: the session's Temporal dev server, a worker, ``redis-server``, two consoles and nginx with the
``deploy/`` configuration on a free port. Through nginx: a browser logs in and keeps its release page updating after
its console is stopped with SIGTERM, without a new login; the login throttle counts failures across both consoles;
Temporal cost follows consoles, not viewers; each console's ``/metrics`` parses and counts what it served; both
consoles work out every notification event and a local webhook gets each exactly once.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from selenium import webdriver
from selenium.webdriver.common.by import By

from release_console.runtime.drain import WATCHDOG_SLACK_SECONDS
from release_console.runtime.security_headers import security_headers
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, REPO_ROOT, eventually_sync, free_port, port_open
from tests.integration.notifications.receivers import Webhook
from tests.integration.ui.browser.helpers import _report, _run, _start, page_text

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ROOT = REPO_ROOT
RUNBOOK = ROOT / "deploy" / "README.md"
ROUTE_COOKIE = "release_console_route"
MAX_FAILURES = 4
GRACE_SECONDS = 6.0
LOGIN = "/api/v1/login/access-token"


METRICS_TOKEN = secrets.token_urlsafe(32)
REDIS_PASSWORD = secrets.token_urlsafe(32)
NOTIFICATIONS_STORE = f"notifications-multi-{uuid.uuid4().hex[:8]}"


def runbook_steps() -> dict[str, str]:
    """The runbook's ``bash`` blocks that start with ``# step: <name>``, by name, exactly as written."""
    steps = {}
    for block in re.findall(r"```bash\n(.*?)```", RUNBOOK.read_text(), re.S):
        first, _, _ = block.partition("\n")
        if first.startswith("# step: "):
            steps[first.removeprefix("# step: ").strip()] = block
    return steps


@dataclass
class Process:
    """One runbook step running (its block ends with ``exec``, so the pid is the program's own)."""

    name: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(GRACE_SECONDS + WATCHDOG_SLACK_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


@dataclass
class Console:
    name: str
    url: str
    process: Process
    token: str = ""

    def get(self, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=10, **kwargs)

    def metrics(self) -> dict[str, list]:
        """The console's /metrics, parsed by prometheus_client: samples by family name."""
        response = httpx.get(f"{self.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
        assert response.status_code == 200, response.text
        return {family.name: family.samples for family in text_string_to_metric_families(response.text)}

    def counted(self, family: str, **labels: str) -> float:
        """The sum of a counter's samples whose labels include ``labels``."""
        samples = self.metrics().get(family, [])
        return sum(s.value for s in samples if s.name.endswith("_total") and labels.items() <= s.labels.items())

    def stats(self) -> dict:
        response = self.get("/api/v1/stats")
        assert response.status_code == 200, response.text
        return response.json()

    def watchers(self, release_id: str) -> int:
        """Listeners (open pages) on this console's mirror of the release."""
        return sum(m["listeners"] for m in self.stats()["mirrors"] if m["release_id"] == release_id)


@dataclass
class Cluster:
    url: str
    consoles: list[Console]
    processes: list[Process] = field(default_factory=list)


def answers(url: str, status: int = 200) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == status
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def cluster(temporal_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("multi-instance")
    steps = runbook_steps()
    assert set(steps) >= {"redis", "worker", "console", "nginx"}, sorted(steps)
    redis_port, lb_port, ports = free_port(), free_port(), [free_port(), free_port()]
    shared = {k: v for k, v in os.environ.items() if not k.startswith(("NICEGUI_", "PYTEST_"))}
    shared.update(
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}:/usr/sbin:/sbin",
        ENVIRONMENT="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        ACCOUNTS_WORKFLOW_ID=f"accounts-multi-{uuid.uuid4().hex[:8]}",  # accounts signed with this SECRET_KEY
        REDIS_PORT=str(redis_port),
        REDIS_PASSWORD=REDIS_PASSWORD,
        REDIS_URL=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis_port}/0",
        METRICS_TOKEN=METRICS_TOKEN,
        TRUSTED_PROXIES="127.0.0.1",
        CONSOLES=" ".join(f"127.0.0.1:{port}" for port in ports),
        LISTEN_ADDRESS=f"127.0.0.1:{lb_port}",
        NGINX_DIR=str(directory / "nginx"),
        HOST="127.0.0.1",
        LOGIN_MAX_FAILURES=str(MAX_FAILURES),
        SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
        NOTIFICATIONS_WORKFLOW_ID=NOTIFICATIONS_STORE,  # records sealed with this SECRET_KEY, apart from other tests'
        NOTIFICATIONS_TASK_QUEUE=NOTIFICATIONS_STORE,
        NOTIFY_BURST_SECONDS="2",
    )
    processes: list[Process] = []

    def start(step: str, name: str, **env: str) -> Process:
        log = directory / f"{name}.log"
        popen = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", steps[step]],
            cwd=ROOT,
            env={**shared, **env},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        processes.append(process)
        return process

    def up(process: Process, check: Callable[[], bool]) -> None:
        eventually_sync(
            lambda: check() or process.popen.poll() is not None, what=f"{process.name} to start", timeout=90
        )
        assert process.popen.poll() is None, f"{process.name} exited:\n{process.output()[-3000:]}"

    try:
        up(start("redis", "redis"), lambda: port_open(redis_port))
        start("worker", "worker")
        consoles = [
            Console(
                f"console-{i}",
                f"http://127.0.0.1:{port}",
                start(
                    "console",
                    f"console-{i}",
                    PORT=str(port),
                    INSTANCE_NAME=f"console-{i}",
                    DATA_DIR=str(directory / f"console-{i}"),
                ),
            )
            for i, port in enumerate(ports, 1)
        ]
        for console in consoles:
            up(console.process, lambda c=console: answers(f"{c.url}/api/v1/ready"))
            login = httpx.post(f"{console.url}{LOGIN}", data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
            assert login.status_code == 200, login.text
            console.token = login.json()["access_token"]
        url = f"http://127.0.0.1:{lb_port}"
        up(start("nginx", "nginx"), lambda: answers(f"{url}/api/v1/ready"))
        yield Cluster(url, consoles, processes)
    finally:
        for process in reversed(processes):
            process.stop()


def routes_to_each_console(cluster: Cluster) -> list[str]:
    """A route cookie value per console: sent through nginx, it lands on that console (found by its metrics)."""
    found: dict[str, str] = {}
    for attempt in range(40):
        candidate = f"route-{attempt}"
        before = [c.counted("release_console_http_requests", route="/api/v1/health") for c in cluster.consoles]
        response = httpx.get(f"{cluster.url}/api/v1/health", cookies={ROUTE_COOKIE: candidate}, timeout=10)
        assert response.status_code == 200
        after = [c.counted("release_console_http_requests", route="/api/v1/health") for c in cluster.consoles]
        served = [c.name for c, b, a in zip(cluster.consoles, before, after, strict=True) if a > b]
        assert len(served) == 1, served
        found.setdefault(served[0], candidate)
        if len(found) == len(cluster.consoles):
            return [found[c.name] for c in cluster.consoles]
    raise AssertionError(f"nginx sent 40 route cookies to {sorted(found)} only")


def test_metrics_of_each_console_parse_and_count_what_it_served(cluster: Cluster) -> None:
    for console in cluster.consoles:
        before = console.counted("release_console_http_requests", route="/api/v1/health", status="200")
        for _ in range(3):
            assert console.get("/api/v1/health").status_code == 200
        families = console.metrics()
        after = sum(
            s.value
            for s in families["release_console_http_requests"]
            if s.name.endswith("_total")
            and s.labels.get("route") == "/api/v1/health"
            and s.labels.get("status") == "200"
        )
        assert after - before >= 3, (console.name, before, after)
        info = families["release_console_instance_info"]
        assert [s.labels["instance_name"] for s in info] == [console.name]
    assert httpx.get(f"{cluster.url}/metrics", timeout=10).status_code == 404  # never through the load balancer


def test_login_throttle_counts_failures_across_both_consoles(cluster: Cluster) -> None:
    first, second = routes_to_each_console(cluster)
    username = f"nobody-{uuid.uuid4().hex[:8]}"

    def attempt(route: str) -> int:
        response = httpx.post(
            f"{cluster.url}{LOGIN}",
            data={"username": username, "password": "wrong-password"},
            cookies={ROUTE_COOKIE: route},
            timeout=10,
        )
        return response.status_code

    failures_before = [c.counted("release_console_login_failures") for c in cluster.consoles]
    codes = [attempt(first) for _ in range(MAX_FAILURES - 1)] + [attempt(second)]
    assert codes == [401] * MAX_FAILURES
    # console-1 alone has seen MAX_FAILURES - 1 failures: only the shared count makes this a 429
    assert attempt(first) == 429
    assert attempt(second) == 429
    failures_after = [c.counted("release_console_login_failures") for c in cluster.consoles]
    assert [a - b for a, b in zip(failures_after, failures_before, strict=True)] == [MAX_FAILURES - 1, 1]


def test_parallel_guesses_spread_over_both_consoles_get_no_more_than_the_limit(cluster: Cluster) -> None:
    """40 wrong passwords for one user sent at once, half through each console: the shared count is taken before
    bcrypt runs, so at most MAX_FAILURES of them are checked and the rest are refused."""
    routes = routes_to_each_console(cluster)
    username = f"parallel-{uuid.uuid4().hex[:8]}"

    def attempt(index: int) -> int:
        response = httpx.post(f"{cluster.url}{LOGIN}", data={"username": username, "password": f"guess-{index}"},
                              cookies={ROUTE_COOKIE: routes[index % 2]}, timeout=30)
        return response.status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        codes = list(pool.map(attempt, range(40)))
    assert codes.count(401) <= MAX_FAILURES and codes.count(401) + codes.count(429) == 40, codes


def test_answers_through_nginx_carry_the_consoles_security_headers_once(cluster: Cluster) -> None:
    """nginx repeats the consoles' headers (for the answers it makes itself) without doubling them."""
    for path, status in (("/login", 200), ("/api/v1/health", 200), ("/metrics", 404)):
        response = httpx.get(f"{cluster.url}{path}", timeout=10)
        assert response.status_code == status
        for name, value in security_headers(None):
            assert response.headers.get_list(name.decode()) == [value.decode()], (path, name)


def test_temporal_cost_follows_consoles_not_viewers(cluster: Cluster, unique: str) -> None:
    release_id = _run(_start(f"mi-{unique}", 1, 2, 3))
    login = httpx.post(f"{cluster.url}{LOGIN}", data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}  # valid on every console
    loads_before = [c.stats()["calls"].get("query:snapshot", 0) for c in cluster.consoles]
    readers = 60

    async def read_all() -> list[int]:
        async def read() -> int:  # a client of its own, without the route cookie: any console may answer
            async with httpx.AsyncClient(base_url=cluster.url, timeout=20) as http:
                return (await http.get(f"/api/v1/releases/{release_id}", headers=headers)).status_code

        return list(await asyncio.gather(*(read() for _ in range(readers))))

    assert _run(read_all()) == [200] * readers
    loads = [
        c.stats()["calls"].get("query:snapshot", 0) - b for c, b in zip(cluster.consoles, loads_before, strict=True)
    ]
    mirrored = [any(m["release_id"] == release_id for m in c.stats()["mirrors"]) for c in cluster.consoles]
    print(f"{readers} readers through nginx: snapshot queries per console {loads}; mirrored on {mirrored}")
    assert mirrored == [True, True]  # both consoles served readers...
    assert loads == [1, 1]  # ...and each loaded the release once: cost = consoles × releases


def test_two_consoles_see_the_same_events_and_each_is_delivered_once(cluster: Cluster, unique: str) -> None:
    """Both consoles work out every event (each logs its start, or Temporal's refusal of the second start) and the
    webhook gets exactly one message per event: ten failed releases, and 20 apps failing in one release (its first
    failure, then one summary)."""
    first, second = cluster.consoles
    webhook = Webhook().start()
    try:
        headers = {"Authorization": f"Bearer {first.token}"}
        channel = httpx.post(f"{first.url}/api/v1/notification-channels", headers=headers, timeout=10,
                             json={"name": "hook", "url": webhook.url(), "shared": True})
        assert channel.status_code == 201, channel.text
        prefix = f"release:mn-{unique}"
        subscription = httpx.post(f"{first.url}/api/v1/subscriptions", headers=headers, timeout=10, json={
            "release": f"{prefix}*", "events": ["release.failed", "app.failed"], "channel": channel.json()["id"]})
        assert subscription.status_code == 201, subscription.text
        eventually_sync(lambda: [s["id"] for s in second.get("/api/v1/subscriptions").json()]
                        == [subscription.json()["id"]], what="the other console to load the subscription")

        failing = [_run(_start(f"mn-{unique}-{n}", 1, 1, 2)) for n in range(10)]
        burst = _run(_start(f"mn-{unique}-burst", 1, 4, 5))
        for release in failing:
            _run(_report(release, [(release, "failed")]))
        apps = [f"app:mn-{unique}-burst-w1-c{c}-a{a}" for c in range(1, 5) for a in range(1, 6)]
        _run(_report(burst, [(app, "failed") for app in apps]))
        events = {("release.failed", release) for release in failing} | {("app.failed", burst)}
        wanted = len(events) + 1  # app.failed: the first failure, then its summary

        def handled_by_both() -> bool:  # each delivery started by one console and refused to the other
            logs = [c.process.output() for c in cluster.consoles]
            started = [_delivery_ids(log, "started") for log in logs]
            refused = [_delivery_ids(log, "was already started") for log in logs]
            crossed = (started[0] & refused[1]) | (started[1] & refused[0])
            return len(started[0] | started[1]) >= wanted and crossed == started[0] | started[1]

        eventually_sync(handled_by_both, timeout=60, step=0.5, what="both consoles to handle every event")
        eventually_sync(lambda: _deliveries(NOTIFICATIONS_STORE) >= wanted
                        and _open_deliveries(NOTIFICATIONS_STORE) == 0, timeout=30, step=0.5,
                        what="every delivery to end")
        told = [(d["event"], d["release"], d["follow_up"]) for d in webhook.delivered()]
        print(f"{len(told)} messages for {len(events)} events; deliveries started per console "
              f"{[len(_delivery_ids(c.process.output(), 'started')) for c in cluster.consoles]}, refused as already "
              f"started {[len(_delivery_ids(c.process.output(), 'was already started')) for c in cluster.consoles]}")
        assert sorted(told) == sorted([(e, r, False) for e, r in events] + [("app.failed", burst, True)])
        assert _deliveries(NOTIFICATIONS_STORE) == wanted  # one delivery workflow per message
    finally:
        webhook.stop()


def _delivery_ids(log: str, outcome: str) -> set[str]:
    """The delivery ids of a console log's "notification … started" (or "… was already started") lines."""
    return set(re.findall(rf"notification \S+ for \S+ to channel \S+ {outcome}\b.*?: (rc-notify-[0-9a-f]+)", log))


def _deliveries(task_queue: str, query: str = "") -> int:
    from release_console.core.config import get_settings
    from release_console.temporal.client import connect

    async def count() -> int:
        client = await connect(get_settings())
        found = await client.count_workflows(
            f"WorkflowType = 'NotificationDelivery' AND TaskQueue = '{task_queue}'{query}")
        return found.count

    return _run(count())


def _open_deliveries(task_queue: str) -> int:
    return _deliveries(task_queue, " AND ExecutionStatus = 'Running'")


@pytest.fixture
def browser(nicegui_driver: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """NiceGUI's session Chrome with no cookies from other tests (cookies are per host, not per port)."""
    nicegui_driver.delete_all_cookies()
    yield nicegui_driver
    nicegui_driver.delete_all_cookies()


def _log_in(browser: webdriver.Chrome, cluster: Cluster) -> None:
    browser.get(f"{cluster.url}/")
    eventually_sync(lambda: "Log in to Release Console" in page_text(browser), what="the login page", timeout=30)
    # typing before the page's websocket is connected can lose keys when the connection redraws the fields
    eventually_sync(lambda: browser.execute_script("return window.did_handshake === true"),
                    what="the login page's connection", timeout=30)
    wanted = [ADMIN_USERNAME, ADMIN_PASSWORD]

    def typed() -> bool:
        inputs = browser.find_elements(By.TAG_NAME, "input")[:2]
        for box, text in zip(inputs, wanted, strict=True):
            if box.get_attribute("value") != text:
                box.clear()  # the browser may have filled in the field, or a redraw may have eaten keys
                box.send_keys(text)
        return [box.get_attribute("value") for box in inputs] == wanted

    eventually_sync(typed, what="the credentials to stay typed in", timeout=10, step=0.3)
    browser.find_element(By.XPATH, '//button[.//*[normalize-space(text())="Log in"]]').click()
    eventually_sync(lambda: "Last change" in page_text(browser), what="the release list after logging in", timeout=30)


def _page_status(console: Console, session_cookie: str) -> int:
    """The status of ``/`` on one console, asked directly with the browser's session cookie."""
    response = httpx.get(f"{console.url}/", cookies={"session": session_cookie}, follow_redirects=False, timeout=10)
    return response.status_code


def test_a_session_is_valid_on_both_consoles_and_logout_ends_it_everywhere(
    cluster: Cluster, browser: webdriver.Chrome
) -> None:
    _log_in(browser, cluster)
    cookie = browser.get_cookie("session")
    assert cookie is not None
    assert [_page_status(c, cookie["value"]) for c in cluster.consoles] == [200, 200]  # not 303 to /login

    browser.find_element(By.XPATH, '//button[.//*[normalize-space(text())="Log out"]]').click()
    eventually_sync(
        lambda: "Log in to Release Console" in page_text(browser), what="the login page after logging out", timeout=30
    )
    for console in cluster.consoles:  # the logout reached the other console through Redis
        eventually_sync(
            lambda c=console: _page_status(c, cookie["value"]) == 303,
            what=f"{console.name} to end the session",
            timeout=30,
        )


def test_a_page_survives_its_console_stopping(cluster: Cluster, browser: webdriver.Chrome, unique: str) -> None:
    """Runs last in this module: it stops a console."""
    key = f"mib-{unique}"
    release_id = _run(_start(key, 1, 1, 2))
    _log_in(browser, cluster)
    browser.get(f"{cluster.url}/releases/{release_id}")
    eventually_sync(lambda: f"wave:{key}-w1" in page_text(browser), what="the release page", timeout=30)

    serving = [c for c in cluster.consoles if c.watchers(release_id) > 0]
    assert len(serving) == 1, [c.name for c in serving]
    stopped = serving[0]
    other = next(c for c in cluster.consoles if c is not stopped)
    signalled = time.monotonic()
    stopped.process.popen.send_signal(signal.SIGTERM)

    eventually_sync(
        lambda: other.watchers(release_id) > 0, what="the page to reconnect to the other console", timeout=45
    )
    moved = time.monotonic() - signalled
    _run(_report(release_id, [(f"wave:{key}-w1", "rolling_back")]))
    eventually_sync(
        lambda: "rolling_back" in page_text(browser),
        what="the change to reach the page from the other console",
        timeout=30,
    )
    assert browser.current_url == f"{cluster.url}/releases/{release_id}"  # no detour through the login page
    assert "Log in to Release Console" not in page_text(browser)

    code = stopped.process.popen.wait(GRACE_SECONDS + WATCHDOG_SLACK_SECONDS)
    print(f"page moved to {other.name} {moved:.1f}s after SIGTERM; {stopped.name} exited with {code}")
    assert code in (0, -signal.SIGTERM), stopped.process.output()[-3000:]
