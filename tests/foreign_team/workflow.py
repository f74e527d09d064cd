"""TeamDeployFlow: the deploy team's release workflow, written from docs/query-contract.md alone.

It answers the contract's five queries (not the optional ``timeline``), takes state changes through the contract's
``apply_transitions`` update, and completes when the release's own state is terminal. Started with
``publish: false`` it keeps no search attributes and no memo (a team that never registered them). It never
continues-as-new (its releases here are a handful of entities); a workflow for real releases must (section 5).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from .tree import Refused, ReleaseTree

WORKFLOW_TYPE = "TeamDeployFlow"
UPDATE = "apply_transitions"
STATE = SearchAttributeKey.for_keyword("ReleaseState")
PROGRESS = SearchAttributeKey.for_int("ReleaseProgress")
APPS_TOTAL = SearchAttributeKey.for_int("ReleaseAppsTotal")
APPS_FAILED = SearchAttributeKey.for_int("ReleaseAppsFailed")
UPDATED_AT = SearchAttributeKey.for_datetime("ReleaseUpdatedAt")


def stamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and ``Z``, as the contract writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@workflow.defn(name=WORKFLOW_TYPE)
class TeamDeployFlow:
    """One release of the deploy team: ``{"plan": {...}, "publish": true}``."""

    @workflow.init
    def __init__(self, start: dict[str, Any]) -> None:
        # built before any handler runs: an update may arrive in the workflow's very first task
        self.publish = bool(start.get("publish", True))
        self.plan_error: str | None = None
        try:
            self.tree = ReleaseTree(start["plan"], stamp(workflow.now()))
        except Refused as exc:
            self.plan_error = str(exc)

    @workflow.run
    async def run(self, start: dict[str, Any]) -> dict[str, Any]:
        if self.plan_error is not None:
            raise ApplicationError(self.plan_error, non_retryable=True)
        self._publish()
        await workflow.wait_condition(lambda: self._tree.over and workflow.all_handlers_finished())
        return self._tree.summary()

    @property
    def _tree(self) -> ReleaseTree:
        return self.tree

    # ---- the update ----------------------------------------------------------------------------------------------
    @workflow.update(name=UPDATE)
    def apply_transitions(self, batch: dict[str, Any]) -> dict[str, int]:
        result = self._tree.apply(self._tree.validate(batch), stamp(workflow.now()))
        self._publish()
        return result

    @apply_transitions.validator
    def _check(self, batch: dict[str, Any]) -> None:
        self._tree.validate(batch)

    def _publish(self) -> None:
        """Search attributes and memo after each accepted batch (section 4), unless this release keeps none."""
        if not self.publish:
            return
        tree = self._tree
        total, done = tree.apps()
        failed = tree.root.counts.get("app", {}).get("failed", 0)
        updated = datetime.strptime(tree.updated_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        workflow.upsert_search_attributes([
            STATE.value_set(tree.root.state),
            PROGRESS.value_set(done * 100 // total if total else 0),
            APPS_TOTAL.value_set(total),
            APPS_FAILED.value_set(failed),
            UPDATED_AT.value_set(updated),
        ])
        workflow.upsert_memo({"summary": tree.memo()})

    # ---- the queries ---------------------------------------------------------------------------------------------
    @workflow.query(name="summary")
    def summary(self) -> dict[str, Any]:
        return self._tree.summary()

    @workflow.query(name="entity")
    def entity(self, entity_id: Any) -> dict[str, Any] | None:
        return self._tree.entity(entity_id)

    @workflow.query(name="children")
    def children(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._tree.children(request)

    @workflow.query(name="changes")
    def changes(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._tree.changes(request)

    @workflow.query(name="snapshot")
    def snapshot(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._tree.snapshot(request)
