"""The deployment-system side: start a release workflow and report transitions to it.

The console itself never calls these; the demo driver, tests and external systems do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from ..contract.names import (
    DEFAULT_WORKFLOW_TYPE,
    SA_APPS_FAILED,
    SA_APPS_TOTAL,
    SA_PROGRESS,
    SA_STATE,
    UPDATE_TRANSITIONS,
)
from ..contract.shapes import ReleaseWorkflowInput, Transition, TransitionBatch, TransitionResult
from ..core.config import Settings
from ..domain.plan import PlanNode, validate_plan


async def start_release(
    client: Client, settings: Settings, plan: PlanNode, *, max_updates_per_run: int = 1000
) -> WorkflowHandle:
    """Validate the plan (InvalidPlan names the offending id), then start its workflow; the id is the release id.

    A second start with the same release id is refused by Temporal (WorkflowAlreadyStartedError).
    """
    validate_plan(plan)
    apps = sum(1 for _ in _apps(plan))
    return await client.start_workflow(
        DEFAULT_WORKFLOW_TYPE,  # the reference workflow, whatever type the console is set to list
        ReleaseWorkflowInput(plan=plan, max_updates_per_run=max_updates_per_run),
        id=plan.id,
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SA_STATE, plan.state),
                SearchAttributePair(SA_PROGRESS, 0),
                SearchAttributePair(SA_APPS_TOTAL, apps),
                SearchAttributePair(SA_APPS_FAILED, 0),
            ]
        ),
        rpc_timeout=timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS * 2),
    )


async def report(
    client: Client,
    release_id: str,
    transitions: Iterable[tuple[str, str]],
    *,
    timeout: float = 10.0,
) -> TransitionResult:
    """Send one batch of (entity id, new state) as an Update; WorkflowUpdateFailedError if rejected."""
    batch = TransitionBatch([Transition(e, s) for e, s in transitions])
    handle = client.get_workflow_handle(release_id)
    return await handle.execute_update(
        UPDATE_TRANSITIONS, batch, result_type=TransitionResult, rpc_timeout=timedelta(seconds=timeout)
    )


def _apps(node: PlanNode) -> Iterable[PlanNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.id.startswith("app:"):
            yield current
        stack.extend(current.children)


def build_plan(release_key: str, waves: int, clusters_per_wave: int, apps_per_bundle: int) -> PlanNode:
    """A regular plan: ``waves`` × ``clusters_per_wave`` clusters, one bundle each, ``apps_per_bundle`` apps."""
    release = PlanNode(f"release:{release_key}")
    for w in range(1, waves + 1):
        wave = PlanNode(f"wave:{release_key}-w{w}")
        for c in range(1, clusters_per_wave + 1):
            tag = f"{release_key}-w{w}-c{c}"
            apps = [PlanNode(f"app:{tag}-a{a}") for a in range(1, apps_per_bundle + 1)]
            bundle = PlanNode(f"bundle:{tag}", children=apps)
            wave.children.append(PlanNode(f"cluster:{tag}", children=[bundle]))
        release.children.append(wave)
    return release
