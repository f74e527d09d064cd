"""Helpers for the UI tests: log in through the real /login page, wait with deadlines, start releases."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

from nicegui import ui
from nicegui.testing import User
from temporalio.client import Client

from release_console import services as services_module
from release_console.core.config import Settings
from release_console.temporal.releases import build_plan, start_release
from release_console.ui.auth import SESSION_CHECKS_KEY
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually


async def see(user: User, content: str | None = None, *, marker: str | None = None, timeout: float = 15) -> None:
    """Wait until the page shows ``content`` / ``marker`` (NiceGUI's should_see with a deadline)."""
    await user.should_see(content, marker=marker, retries=max(1, int(timeout / 0.1)))




async def accounts_ready(timeout: float = 30) -> None:
    """Wait until the console under test has loaded its users from the accounts workflow.

    Until then a login is refused ("accounts are unavailable", as a real user would see it); start-up retries every
    ACCOUNTS_REFRESH_SECONDS when Temporal or the worker is slow to answer. A slow load is printed, not hidden.
    """
    from release_console import services as services_module

    services = await services_module.wait_until_started(timeout)
    assert services is not None and services.accounts is not None, "the console did not start"
    started = time.monotonic()
    await asyncio.wait_for(services.accounts.loaded.wait(), timeout)
    if (waited := time.monotonic() - started) > 1:
        print(f"accounts were loaded {waited:.1f}s after the console started")


async def login(
    user: User, path: str = "/", username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD
) -> None:
    """Sign in through the real login page, then open ``path``."""
    await accounts_ready()
    await user.open("/login")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login-button").click()
    await user.should_not_see(marker="login-button", retries=100)
    await user.open(path)


async def start(client: Client, settings: Settings, key: str, waves: int = 2, clusters: int = 2, apps: int = 3) -> str:
    """Start a release workflow with a regular plan; returns its id."""
    plan = build_plan(key, waves, clusters, apps)
    await start_release(client, settings, plan)
    return plan.id


def texts(user: User, marker: str) -> list[str]:
    """Texts of the elements carrying ``marker``."""
    return [getattr(e, "text", "") for e in user.find(marker=marker).elements]


__all__ = ["accounts_ready", "login", "see", "start", "texts", "ui"]


WAIT = 50  # retries of 0.1 s for things that happen in a background task


def accounts():
    service = services_module.current().accounts
    assert service is not None
    return service


async def log_in(user: User, username: str, password: str, path: str = "/admin/users") -> None:
    await accounts_ready()
    await user.open(path)
    await user.should_see(marker="login-button")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login-button").click()


async def new_viewer(password: str = "viewer-password-1") -> str:
    name = f"ui-viewer-{uuid.uuid4().hex[:8]}"
    assert await services_module.wait_until_started(30) is not None
    await accounts().create_user(name, password, "viewer")
    return name


REPLACE_STATE = re.compile(r'history\.replaceState\(\{\}, "", (".*")\);')


def watch_urls(user: User) -> list[str]:
    """Record every URL the open page writes with ``history.replaceState`` (what it sends to the browser)."""
    outbox = user.client.outbox
    urls: list[str] = []
    enqueue = outbox.enqueue_message

    def recording(message_type, data, target_id) -> None:  # type: ignore[no-untyped-def]
        if message_type == "run_javascript" and (match := REPLACE_STATE.fullmatch(data.get("code", ""))):
            urls.append(json.loads(match.group(1)))
        enqueue(message_type, data, target_id)

    outbox.enqueue_message = recording  # type: ignore[method-assign]
    return urls


def split(url: str) -> tuple[str, dict[str, str]]:
    """Path and query parameters of a URL."""
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


async def url_becomes(urls: list[str], path: str, params: dict[str, str]) -> None:
    """Wait until the last URL written by the page is ``path`` with exactly ``params``."""
    await eventually(lambda: bool(urls) and split(urls[-1]) == (path, params), what=f"the URL {path} {params}")


def select_labelled(user: User, label: str) -> ui.select:
    """The page's select with this label."""
    [select] = [s for s in user.find(kind=ui.select).elements if s.props.get("label") == label]
    return select


def set_value(user: User, element: ui.element, value: object) -> None:
    """Pick a value the way the browser reports it: the element's value changes and its handlers run."""
    with user:
        element.value = value  # type: ignore[attr-defined]


def row_ids(user: User) -> list[str]:
    """Release ids of the list's rows, top to bottom."""
    table = user.find(marker="release-rows").elements.pop()
    ids = []
    for row in table.default_slot.children:
        links = [e for e in row.descendants() if isinstance(e, ui.link)]
        if links:
            ids.append(links[0].text)
    return ids


def session_checks() -> int:
    """Session checks made so far by the refresh ticks of every open page (ui/auth.py SESSION_CHECKS_KEY)."""
    from nicegui import Client

    return sum(c.storage.get(SESSION_CHECKS_KEY, 0) for c in list(Client.instances.values()))
