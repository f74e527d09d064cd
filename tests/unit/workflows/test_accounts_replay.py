"""Histories written by the first accounts workflow type replay with today's code (no Temporal server: the SDK's
Replayer runs the workflow code against a recorded history and fails on any difference).

The histories (histories/, recorded by histories/record_accounts_v1.py with the code of commit 8d1a689) hold
accepted Updates of every kind that code took, the six retired ones included: an open run, as a worker finds it
after a deploy, and a run closed by continue-as-new.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import (
    ContinueAsNewInput,
    HandleUpdateInput,
    Interceptor,
    Replayer,
    UnsandboxedWorkflowRunner,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import NondeterminismError

from release_console.temporal.client import DATA_CONVERTER
from release_console.temporal.worker import ACCOUNTS_WORKFLOWS
from release_console.workflows.accounts import WORKFLOW_TYPE, AccountsInput, AccountsWorkflow
from release_console.workflows.accounts_v1 import LEGACY_WORKFLOW_TYPE, RETIRED_UPDATES

HISTORIES = Path(__file__).parent / "histories"
OPEN, CONTINUED = HISTORIES / "accounts_v1_open.json", HISTORIES / "accounts_v1_continued.json"


def history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def accepted_updates(path: Path) -> list[str]:
    events = json.loads(path.read_text())["events"]
    return [e["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]["input"]["name"]
            for e in events if "workflowExecutionUpdateAcceptedEventAttributes" in e]


async def recorded_results(path: Path) -> dict[str, Any]:
    """What the old code answered to each accepted Update (as the data converter reads it back), by update id."""
    results: dict[str, Any] = {}
    for event in history(path).events:
        if event.HasField("workflow_execution_update_completed_event_attributes"):
            completed = event.workflow_execution_update_completed_event_attributes
            [results[completed.meta.update_id]] = await DATA_CONVERTER.decode(completed.outcome.success.payloads)
    return results


async def as_recorded(value: Any) -> Any:
    """``value`` written and read back by the data converter, as the recorded answers are."""
    [read] = await DATA_CONVERTER.decode(await DATA_CONVERTER.encode([value]))
    return read


class Recorder(Interceptor):
    """Keeps what the replayed code answers to each Update and where it continues as new."""

    def __init__(self) -> None:
        self.results: dict[str, Any] = {}
        self.continued_as: list[str | None] = []

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        recorder = self

        class Outbound(WorkflowOutboundInterceptor):
            def continue_as_new(self, input: ContinueAsNewInput) -> Any:
                recorder.continued_as.append(input.workflow)
                return super().continue_as_new(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

            async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
                result = await super().handle_update_handler(input)
                recorder.results[input.id] = copy.deepcopy(result)  # later Updates change its records
                return result

        return Inbound


def test_the_histories_hold_every_retired_update() -> None:
    assert set(RETIRED_UPDATES) <= set(accepted_updates(OPEN))
    assert {"put_user", "delete_user", "record_login", "put_api_key", "delete_api_key"} <= set(accepted_updates(OPEN))
    last = json.loads(CONTINUED.read_text())["events"][-1]
    assert last["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"


@pytest.mark.parametrize("path", [OPEN, CONTINUED], ids=["open run", "continued as new"])
async def test_old_histories_replay_with_the_workers_workflows(path: Path) -> None:
    """The worker's own list of accounts workflows, in the SDK's sandbox as the worker runs them."""
    replayer = Replayer(workflows=ACCOUNTS_WORKFLOWS, data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history(path))
    assert result.replay_failure is None


@pytest.mark.parametrize("path", [OPEN, CONTINUED], ids=["open run", "continued as new"])
async def test_the_retired_handlers_answer_as_the_old_code_did(path: Path) -> None:
    """Every Update answers on replay what it answered when it was recorded (so the state a replayed run goes on
    with, and carries into V2, is the one it had), and a run continues as new into V2."""
    recorder = Recorder()
    replayer = Replayer(workflows=ACCOUNTS_WORKFLOWS, data_converter=DATA_CONVERTER, interceptors=[recorder],
                        workflow_runner=UnsandboxedWorkflowRunner())
    await replayer.replay_workflow(history(path))
    expected = await recorded_results(path)
    assert len(expected) == len(accepted_updates(path))
    assert {update_id: await as_recorded(value) for update_id, value in recorder.results.items()} == expected
    assert recorder.continued_as == ([WORKFLOW_TYPE] if path == CONTINUED else [])


@workflow.defn(name=LEGACY_WORKFLOW_TYPE, sandboxed=False)
class WithoutRetiredHandlers(AccountsWorkflow):
    """What dropping the retired handlers from the old type would have been."""

    @workflow.run
    async def run(self, input: AccountsInput) -> None:
        await super().run(input)


@pytest.mark.parametrize("path", [OPEN, CONTINUED], ids=["open run", "continued as new"])
async def test_without_the_retired_handlers_the_histories_would_not_replay(path: Path) -> None:
    replayer = Replayer(workflows=[WithoutRetiredHandlers], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history(path), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError)
    assert "WorkflowExecutionUpdateAccepted" in str(result.replay_failure)
