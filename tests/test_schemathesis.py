"""Schemathesis against the app's own OpenAPI schema (with a valid token): no server error, answers match the schema.

Every GET operation must never answer 5xx; the read path's operations must also answer only documented status codes
with bodies matching their schema. Read-only (GET) operations only, so generated calls cannot change accounts; the
SSE stream is covered in
test_api_events.py (an endless stream cannot be fuzzed with a buffering client).
"""

from __future__ import annotations

import contextlib

import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from release_console.temporal.releases import build_plan, start_release

MAX_EXAMPLES = 12
READ_PATH_TAGS = {"releases", "entities", "operations"}
"""Operations whose status codes and bodies must also match their documented responses exactly."""


def generated_cases(operation, mode: GenerationMode) -> list:
    """Cases drawn by Hypothesis for one operation (generation only; calls are made afterwards, async)."""
    cases: list = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case) -> None:
        cases.append(case)

    with contextlib.suppress(Unsatisfiable):  # e.g. no negative case exists for an operation without parameters
        collect()
    return cases


async def test_schemathesis_finds_no_server_error(api, admin_headers, client, settings, unique):
    await start_release(client, settings, build_plan(f"fuzz-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2))
    raw = (await api.get("/api/v1/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(raw).include(method="GET").exclude(path_regex=r".*/events$")
    problems: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for case in generated_cases(operation, mode):
                kwargs = case.as_transport_kwargs(base_url="http://test", headers=admin_headers)
                kwargs.pop("cookies", None)
                response = await api.request(
                    kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=kwargs.get("headers")
                )
                calls += 1
                checks = [not_a_server_error]
                if mode is GenerationMode.POSITIVE and set(operation.tags or []) & READ_PATH_TAGS:
                    checks += [status_code_conformance, response_schema_conformance]
                try:
                    case.validate_response(response, checks=checks)
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group of check failures
                    problems.append(f"{case.method} {kwargs['url']} -> {response.status_code}: {exc!s:.300}")
    assert calls > 50
    assert not problems, "\n".join(problems[:10])
