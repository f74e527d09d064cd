"""The pages work in a real chromium with the console's Content-Security-Policy on, and every answer carries the
security headers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from nicegui.testing import Screen
from selenium.webdriver.common.by import By

from release_console.runtime.security_headers import CONTENT_SECURITY_POLICY
from tests.integration.ui.browser.helpers import _login, _report, _run, _start, _wait_text

pytestmark = pytest.mark.browser

FETCH_HEADERS = """
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(r => done(Object.fromEntries(r.headers.entries()))).catch(e => done(String(e)));
"""


def _logged(screen: Screen) -> list[str]:
    """The browser console's messages since the last read (reading them empties the log)."""
    return [e["message"] for e in screen.selenium.get_log("browser")]


def _violations(screen: Screen) -> list[str]:
    return [m for m in _logged(screen) if "Content Security Policy" in m]


def test_pages_run_under_the_content_security_policy(screen: Screen, unique: str) -> None:
    release_id = _run(_start(f"csp-{unique}", 1, 1, 2))
    _run(_report(release_id, [(f"app:csp-{unique}-w1-c1-a1", "deploying")]))
    screen.open("/login")
    _wait_text(screen, "Log in to Release Console")
    headers = screen.selenium.execute_async_script(FETCH_HEADERS, "/login")
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # PUBLIC_URL is not https here
    _login(screen)
    screen.open(f"/releases/{release_id}")
    _wait_text(screen, f"wave:csp-{unique}-w1")  # the tree (Vue components compiled in the page) is drawn
    _wait_text(screen, "Progress over time")
    screen.open("/docs")
    _wait_text(screen, "Release Console API")  # Swagger UI ran
    assert _violations(screen) == []


@pytest.fixture
def other_site() -> Iterator[str]:
    """Another origin (its own little HTTP server) whose page frames the console's login page."""
    page = f"<html><body><iframe id='framed' src='http://127.0.0.1:{Screen.PORT}/login'></iframe></body></html>"

    class Parent(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Parent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_another_site_cannot_frame_a_page(screen: Screen, other_site: str) -> None:
    """Chromium refuses the frame for frame-ancestors 'none' (and X-Frame-Options: DENY): its page is an error."""
    screen.open("/login")  # the console serves (the screen fixture starts it on the first open)
    _wait_text(screen, "Log in to Release Console")
    screen.selenium.get(other_site)
    screen.wait(2)
    screen.selenium.switch_to.frame(screen.selenium.find_element(By.ID, "framed"))
    try:
        shown = screen.selenium.execute_script("return [location.href, document.body ? document.body.innerText : '']")
    finally:
        screen.selenium.switch_to.default_content()
    assert "Log in to Release Console" not in shown[1], shown
    assert shown[0].startswith("chrome-error://"), shown  # chromium's page for a refused frame
    refusals = [m for m in _logged(screen) if "frame-ancestors 'none'" in m]
    assert refusals, "chromium names the directive that refused the frame"
