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


def with_real_ids(case, real_ids: dict[str, str]):
    """A copy of a generated case whose id path parameters name a real release and entity."""
    ids = {k: v for k, v in real_ids.items() if k in case.path_parameters}
    return case.operation.Case(path_parameters={**case.path_parameters, **ids}, query=case.query, headers=case.headers)


async def test_schemathesis_finds_no_server_error(api, admin_headers, client, settings, unique):
    plan = build_plan(f"fuzz-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    await start_release(client, settings, plan)
    real_ids = {"release_id": plan.id, "entity_id": f"bundle:fuzz-{unique}-w1-c1"}
    """Positive cases also run once more on these real ids, so depth/limit/cursor/state are fuzzed on a 200 path."""
    raw = (await api.get("/api/v1/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(raw).include(method="GET").exclude(path_regex=r".*/events$")
    problems: list[str] = []
    calls = ok_on_real = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases = generated_cases(operation, mode)
            if mode is GenerationMode.POSITIVE:
                cases += [with_real_ids(c, real_ids) for c in cases if set(c.path_parameters or {}) & set(real_ids)]
            for case in cases:
                kwargs = case.as_transport_kwargs(base_url="http://test", headers=admin_headers)
                kwargs.pop("cookies", None)
                response = await api.request(
                    kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=kwargs.get("headers")
                )
                calls += 1
                ok_on_real += response.status_code == 200 and plan.id in kwargs["url"]
                checks = [not_a_server_error]
                if mode is GenerationMode.POSITIVE and set(operation.tags or []) & READ_PATH_TAGS:
                    checks += [status_code_conformance, response_schema_conformance]
                try:
                    case.validate_response(response, checks=checks)
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group of check failures
                    problems.append(f"{case.method} {kwargs['url']} -> {response.status_code}: {exc!s:.300}")
    assert calls > 50
    print(f"schemathesis: {calls} calls, {ok_on_real} answered 200 on the real release")
    assert not problems, "\n".join(problems[:10])
