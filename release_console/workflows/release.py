"""ReleaseWorkflow: tracks one release's hierarchy as deployment systems report state changes.

It records what it is told (it deploys nothing). State lives in one ReleaseTree; handlers are short;
the run continues-as-new when Temporal suggests it or after ``max_updates_per_run`` updates.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from ..contract import views
    from ..contract.limits import MAX_BATCH_TRANSITIONS
    from ..contract.names import (
        DEFAULT_WORKFLOW_TYPE,
        MEMO_SUMMARY,
        QUERY_CHANGES,
        QUERY_CHILDREN,
        QUERY_ENTITY,
        QUERY_SNAPSHOT,
        QUERY_SUMMARY,
        QUERY_TIMELINE,
        SA_APPS_FAILED,
        SA_APPS_TOTAL,
        SA_PROGRESS,
        SA_STATE,
        SA_UPDATED_AT,
        UPDATE_TRANSITIONS,
    )
    from ..contract.shapes import (
        CarriedState,
        ChangesRequest,
        ChangesResult,
        ChildrenPage,
        ChildrenRequest,
        EntityView,
        JsonObject,
        ReleaseSummary,
        ReleaseWorkflowInput,
        SnapshotRequest,
        TransitionBatch,
        TransitionResult,
        workflow_input_from_data,
    )
    from ..domain.ids import EntityId, InvalidEntityId
    from ..domain.plan import InvalidPlan, validate_plan
    from ..domain.states import MAX_DISTINCT_STATES, TERMINAL_RELEASE_STATES, InvalidState, validate_state
    from ..domain.timeline import Point, add_point, make_point, timeline_result
    from ..domain.tree import Change, ReleaseTree, UnknownEntity, last_updated, paused_gc, progress_percent


@workflow.defn(name=DEFAULT_WORKFLOW_TYPE)
class ReleaseWorkflow:
    """One release: Release → Waves → Clusters → one Bundle each → Apps."""

    @workflow.init
    def __init__(self, input: JsonObject) -> None:
        """Load the state before any handler runs (updates may arrive with the first task of a run).

        The argument is a ReleaseWorkflowInput in JSON form; it is converted here by hand because generic
        dataclass conversion of a 100,000-entity plan takes longer than the worker's deadlock timeout (2 s for
        one workflow task). Conversion, validation and the tree build run with the garbage collector paused,
        which halves their time (see ``paused_gc``); a plan is capped at MAX_PLAN_ENTITIES for the same reason.
        """
        self.updates_this_run = 0
        self.started_at: str | None = None
        self.tree: ReleaseTree | None = None
        self.timeline: list[Point] = []
        with paused_gc():
            try:
                self.input = workflow_input_from_data(input)
            except (InvalidPlan, KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ApplicationError(
                    f"invalid workflow input: {exc}", type="InvalidPlan", non_retryable=True
                ) from None
            self.tree = self._load(self.input)

    @workflow.run
    async def run(self, input: JsonObject) -> ReleaseSummary:
        self._publish()
        await workflow.wait_condition(lambda: self._finished() or self._should_continue_as_new())
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._finished():
            return views.summary_view(self._tree())
        workflow.continue_as_new(
            ReleaseWorkflowInput(
                carried=self._carry(),
                max_updates_per_run=self.input.max_updates_per_run,
                changes_kept=self.input.changes_kept,
            )
        )

    # ---- update ----------------------------------------------------------------------------------
    @workflow.update(name=UPDATE_TRANSITIONS)
    def apply_transitions(self, batch: TransitionBatch) -> TransitionResult:
        """Record a batch of transitions as one new version, stamped with workflow time."""
        tree = self._tree()
        at = _iso(workflow.now())
        version = tree.apply([(t.entity_id, t.state) for t in batch.transitions], at)
        self._record_point(at)
        self.updates_this_run += 1
        self._publish()
        return TransitionResult(version=version, applied=len(batch.transitions))

    @apply_transitions.validator
    def validate_transitions(self, batch: TransitionBatch) -> None:
        """Reject the whole batch, recording nothing, if any part of it is wrong."""
        tree = self._tree()
        if self._finished():
            raise ValueError(f"{tree.root.id} is {tree.root.state}; a finished release accepts no transitions")
        if not batch.transitions:
            raise ValueError("batch is empty")
        if len(batch.transitions) > MAX_BATCH_TRANSITIONS:
            raise ValueError(f"batch has {len(batch.transitions)} transitions; at most {MAX_BATCH_TRANSITIONS}")
        for index, t in enumerate(batch.transitions):
            try:
                EntityId.parse(t.entity_id)
                tree.get(t.entity_id)
                validate_state(t.state)
            except InvalidEntityId as exc:
                raise ValueError(f"transition {index}: {exc}") from None
            except UnknownEntity:
                raise ValueError(f"transition {index}: {t.entity_id} is not part of {tree.root.id}") from None
            except InvalidState as exc:
                raise ValueError(f"transition {index} ({t.entity_id}): {exc}") from None
        in_use = tree.states_in_use()
        new_states = {t.state for t in batch.transitions} - in_use
        if len(in_use) + len(new_states) > MAX_DISTINCT_STATES:
            raise ValueError(
                f"batch brings {len(new_states)} new state(s) ({', '.join(sorted(new_states)[:5])}); {tree.root.id} "
                f"already uses {len(in_use)} and a release may use at most {MAX_DISTINCT_STATES} different states"
            )

    # ---- queries -------------------------------------------------------------------------------
    @workflow.query(name=QUERY_SUMMARY)
    def summary(self) -> ReleaseSummary:
        """The release, its rollups and its waves."""
        return views.summary_view(self._tree())

    @workflow.query(name=QUERY_ENTITY)
    def entity(self, entity_id: str) -> EntityView | None:
        """One entity with parent, rollups and child count; null when not in this release."""
        entity = self._tree().entities.get(entity_id) if isinstance(entity_id, str) else None
        return views.entity_view(entity) if entity else None

    @workflow.query(name=QUERY_CHILDREN)
    def children(self, request: ChildrenRequest) -> ChildrenPage:
        """A page of one node's children."""
        try:
            return views.children_view(self._tree(), request)
        except UnknownEntity:
            raise ValueError(f"{request.parent_id} is not part of this release") from None

    @workflow.query(name=QUERY_CHANGES)
    def changes(self, request: ChangesRequest) -> ChangesResult:
        """Everything changed after a version (or reload=True)."""
        return views.changes_view(self._tree(), request)

    @workflow.query(name=QUERY_SNAPSHOT)
    def snapshot(self, request: SnapshotRequest) -> views.SnapshotResult:
        """A page of the whole tree as rows."""
        return views.snapshot_result(self._tree(), request)

    @workflow.query(name=QUERY_TIMELINE)
    def timeline_query(self) -> JsonObject:
        """The compact progress timeline: points of (time, version, apps per state), at most MAX_POINTS."""
        return timeline_result(self.timeline, self._tree().version)

    # ---- helpers -------------------------------------------------------------------------------
    def _record_point(self, at: str) -> None:
        """One timeline point with the release's apps per state now (at most 32 states: cheap)."""
        tree = self._tree()
        add_point(self.timeline, make_point(at, tree.version, tree.root.counts.get("app", {})))

    def _tree(self) -> ReleaseTree:
        if self.tree is None:
            raise ApplicationError("release workflow has not loaded its state yet")
        return self.tree

    def _load(self, input: ReleaseWorkflowInput) -> ReleaseTree:
        release_id = workflow.info().workflow_id
        if input.carried is not None:
            carried = input.carried
            tree = ReleaseTree(
                (tuple(r) for r in carried.rows),  # type: ignore[misc]
                version=carried.version,
                changes_kept=input.changes_kept,
            )
            tree.log_floor = carried.log_floor
            tree.changes.extend(Change(int(v), str(i), str(s), str(a)) for v, i, s, a in carried.changes)
            self.started_at = carried.started_at
            self.timeline = [list(p) for p in carried.timeline or []]
            return tree
        if input.plan is None:
            raise ApplicationError("ReleaseWorkflow needs a plan", non_retryable=True)
        try:
            validate_plan(input.plan, release_id=release_id)
        except InvalidPlan as exc:
            raise ApplicationError(f"invalid release plan: {exc}", type="InvalidPlan", non_retryable=True) from None
        tree = ReleaseTree.from_plan(input.plan, changes_kept=input.changes_kept)
        self.started_at = _iso(workflow.now())
        for entity in tree.entities.values():
            entity.updated_at = self.started_at
        self.timeline = [make_point(self.started_at, tree.version, tree.root.counts.get("app", {}))]
        return tree

    def _carry(self) -> CarriedState:
        tree = self._tree()
        return CarriedState(
            rows=[list(r) for r in tree.rows()],
            version=tree.version,
            log_floor=tree.log_floor,
            changes=[[c.version, c.id, c.state, c.updated_at] for c in tree.changes],
            started_at=self.started_at,
            timeline=self.timeline,
        )

    def _finished(self) -> bool:
        return self.tree is not None and self.tree.root.state in TERMINAL_RELEASE_STATES

    def _should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            or self.updates_this_run >= self.input.max_updates_per_run
        )

    def _publish(self) -> None:
        """Keep the release's state in search attributes and a compact summary in the memo."""
        tree = self._tree()
        _done, total = tree.progress()
        failed = tree.root.counts.get("app", {}).get("failed", 0)
        updated_at = last_updated(tree) or self.started_at
        state = tree.root.state
        assert state is not None, "the workflow's own tree has no unreadable node"
        workflow.upsert_search_attributes(
            [
                SA_STATE.value_set(state),
                SA_PROGRESS.value_set(progress_percent(tree.root)),
                SA_APPS_TOTAL.value_set(total),
                SA_APPS_FAILED.value_set(failed),
                SA_UPDATED_AT.value_set(datetime.fromisoformat(updated_at) if updated_at else workflow.now()),
            ]
        )
        workflow.upsert_memo({MEMO_SUMMARY: views.release_memo(tree, updated_at)})


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
