"""Schemathesis against the app's own OpenAPI schema: every operation, every check, no failure.

The console runs as in the other API tests, with accounts and notifications of its own (fresh workflow ids), so
generated calls may create, change and delete users, keys, channels and subscriptions without touching the
accounts other tests use. It is served over a real socket (uvicorn on this test's event loop) and Schemathesis'
own engine runs in a thread against it, as ``schemathesis run --checks all`` would: examples, coverage, fuzzing
and stateful phases, as the first admin. Left aside: the SSE stream (an endless stream cannot be fuzzed with a
buffering client; test_api_events.py covers it) and the login endpoint (it would only fill the login throttle).
The only failures forgiven are the documented refusals no schema can express (SEMANTIC_REFUSALS).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
import uvicorn
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.engine import Status, events

from release_console.temporal.releases import build_plan, start_release
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, free_port

MAX_EXAMPLES = 10
SEED = 20260
SEMANTIC_REFUSALS = (
    ("GET", "/api/v1/releases", b'"code":"invalid_cursor"'),
    ("GET", "/api/v1/releases/{release_id}/entities/{entity_id}/children", b'"code":"invalid_cursor"'),
    ("POST", "/api/v1/notification-channels", b'"detail":"url '),
    ("POST", "/api/v1/notification-channels", b'"detail":"Apprise cannot use'),
    ("POST", "/api/v1/api-keys", b'"detail":"expires_in_days must be'),
    ("POST", "/api/v1/subscriptions", b'"loc":["body","stalled_after_seconds"],"msg":"Input should be a valid int'),
    ("POST", "/api/v1/notification-channels/{channel_id}/test", b'"code":"test_send_failed"'),
)
"""Schema-valid values the server may still refuse (422, or 502 for a test message), as the document says, because
no schema can say which are good: a cursor is opaque (only one the server issued reads on; an offset past the end is
refused); a channel URL must be one Apprise can use, with a scheme this console allows (NOTIFICATION_SCHEMES); a
key's lifetime is bounded by a setting (API_KEY_MAX_DAYS); ``stalled_after_seconds`` is a strict integer, while
JSON Schema's ``integer`` also takes ``60.0``; and a test message answers 502 with the service's reason when it is
not delivered (no network here)."""
AUTH_REFETCH_FAILED = "Token fetch failed"
"""The fuzzer may disable the admin or change its password (its own accounts, see own_accounts): the stateful phase
then goes on without a token, and its calls are checked as unauthenticated ones."""


@pytest.fixture
def own_accounts(console_env: Callable[..., None]) -> None:
    """Accounts and notifications of this test's own, so the fuzzer cannot lock other tests out."""
    suffix = uuid.uuid4().hex[:8]
    console_env(ACCOUNTS_WORKFLOW_ID=f"fuzz-accounts-{suffix}", NOTIFICATIONS_WORKFLOW_ID=f"fuzz-notify-{suffix}")


def fuzz_config(base_url: str) -> SchemathesisConfig:
    """``--checks all``, every phase, a fixed seed and a few examples per operation, as the first admin: a token
    from the login endpoint, fetched again after a 401 (a generated sign-out-everywhere ends the one in use)."""
    login = {"path": "/api/v1/login/access-token", "payload": {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
             "payload_content_type": "application/x-www-form-urlencoded", "extract_selector": "/access_token"}
    config = SchemathesisConfig.from_dict({"auth": {"dynamic": {"openapi": {"OAuth2PasswordBearer": login}}}})
    config.update(seed=SEED, max_failures=None)
    project = config.projects.override
    project.update(base_url=base_url, workers=1, request_timeout=30)
    project.checks.update(included_check_names=["all"])
    project.phases.update(phases=["examples", "coverage", "fuzzing", "stateful"])
    project.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
    return config


def run_engine(raw: dict[str, Any], config: SchemathesisConfig) -> tuple[int, list[str], set[str]]:
    """Schemathesis' engine over every operation but the SSE stream and login: (cases sent, failures, phases)."""
    schema = schemathesis.openapi.from_dict(raw, config=config)
    schema = schema.exclude(path_regex=r".*/events$").exclude(path_regex=r".*/login/")
    cases = 0
    failures: list[str] = []
    phases: set[str] = set()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.PhaseFinished):
            skipped = event.phase.skip_reason
            phases.add(event.phase.name.value + ("" if event.phase.is_enabled else f" (skipped: {skipped})"))
        if isinstance(event, events.FatalError):
            failures.append(f"fatal: {event.exception!r}")
        if isinstance(event, events.NonFatalError) and AUTH_REFETCH_FAILED not in event.info.message:
            failures.append(f"error in {event.label}: {event.info.message[:300]}")
        if not isinstance(event, events.ScenarioFinished):
            continue
        cases += len(event.recorder.cases)
        for case_id, checks in event.recorder.checks.items():
            for check in checks:
                if check.status is Status.FAILURE and check.failure_info is not None:
                    if not expected_refusal(event, case_id, check.failure_info.failure):
                        failures.append(describe(event, case_id, check.name, check.failure_info.failure))
                elif check.status is Status.ERROR:
                    failures.append(f"{event.label}: check {check.name} crashed")
    return cases, sorted(set(failures)), phases


def expected_refusal(event: events.ScenarioFinished, case_id: str, failure: Failure) -> bool:
    """A schema-valid value refused as the document says (SEMANTIC_REFUSALS)."""
    interaction = event.recorder.interactions.get(case_id)
    response = interaction.response if interaction is not None else None
    case = event.recorder.cases[case_id].value
    if response is None or response.status_code not in (422, 502):
        return False
    return any(method == case.method and path == case.path and marker in (response.content or b"")
               for method, path, marker in SEMANTIC_REFUSALS)


def describe(event: events.ScenarioFinished, case_id: str, check: str, failure: Failure) -> str:
    case = event.recorder.cases[case_id].value
    interaction = event.recorder.interactions.get(case_id)
    status = interaction.response.status_code if interaction and interaction.response else None
    body = interaction.response.content[:160] if interaction and interaction.response else b""
    return f"{case.method} {case.formatted_path} {case.body!r:.200} [{check}] -> {status} {body!r}: {failure.title}"


async def test_schemathesis_finds_no_failure(own_accounts, api, admin_headers, client, settings, unique):
    plan = build_plan(f"fuzz-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    await start_release(client, settings, plan)
    raw = (await api.get("/api/v1/openapi.json")).json()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api._transport.app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "uvicorn did not start"
            await asyncio.sleep(0.05)
        config = fuzz_config(f"http://127.0.0.1:{port}")
        cases, failures, phases = await asyncio.to_thread(run_engine, raw, config)
    finally:
        server.should_exit = True
        await serving
    print(f"schemathesis: {cases} cases, {len(failures)} failures, phases {sorted(phases)}")
    assert cases > 200
    assert not failures, "\n".join(failures[:30])
