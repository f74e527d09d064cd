"""Visibility rows of release workflows, decoded off the event loop.

The SDK's ``list_workflows`` turns every row of a page into a ``WorkflowExecution`` on the event loop, decoding all
search attributes twice: 200–280 ms per 1,000-row page here, so with thousands of releases every list refresh held
the loop for that long per page. The gateway asks ``ListWorkflowExecutions`` itself and hands each raw page to
:func:`decode_page` in a worker thread, which keeps only what the release list shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import TypedSearchAttributes
from temporalio.converter import decode_typed_search_attributes

from ..contract.names import MEMO_SUMMARY
from ..contract.shapes import JsonObject
from ..domain.ids import EntityType
from ..domain.states import MAX_DISTINCT_STATES, InvalidState, validate_state
from ..temporal.client import DATA_CONVERTER
from ..temporal.codec import decode_payload

MAX_MEMO_BYTES = 1024 * 1024
"""A release's memo summary is a few hundred bytes; anything past this is not decoded (a page holds 1,000 rows)."""
SUMMARY_FIELDS: dict[str, tuple[type, ...]] = {
    "state": (str,), "version": (int,), "updated_at": (str, type(None)), "apps_total": (int,), "apps_done": (int,),
    "entity_count": (int,), "counts": (dict,),
}
"""The fields of the memo summary (contract/views.py ``release_memo``) and their types: nothing else is kept."""
MAX_TIME_LENGTH = 40
ENTITY_TYPES = frozenset(t.value for t in EntityType)


@dataclass(frozen=True, slots=True)
class ListedRelease:
    """One release workflow execution as visibility lists it."""

    id: str
    workflow_type: str
    status: str
    """``running``, ``completed``, ``terminated`` … (``unknown`` when Temporal gives none)."""
    start_time: datetime
    close_time: datetime | None
    search_attributes: TypedSearchAttributes
    memo_summary: JsonObject | None
    task_queue: str = ""
    """The task queue its workflow tasks go to (whose workers answer its queries)."""


def decode_page(infos: Iterable[WorkflowExecutionInfo]) -> list[ListedRelease]:
    """The rows of one ``ListWorkflowExecutions`` page (pure CPU: meant for a worker thread)."""
    return [_listed(info) for info in infos]


def status_name(status: WorkflowExecutionStatus | None) -> str:
    """``running``, ``completed``, ``terminated`` … (``unknown`` when Temporal gives none)."""
    return status.name.lower() if status is not None else "unknown"


def _listed(info: WorkflowExecutionInfo) -> ListedRelease:
    return ListedRelease(
        id=info.execution.workflow_id,
        workflow_type=info.type.name,
        status=status_name(WorkflowExecutionStatus(info.status) if info.status else None),
        start_time=info.start_time.ToDatetime(tzinfo=UTC),
        close_time=info.close_time.ToDatetime(tzinfo=UTC) if info.HasField("close_time") else None,
        search_attributes=decode_typed_search_attributes(info.search_attributes),
        memo_summary=memo_summary(info),
        task_queue=info.task_queue,
    )


def memo_summary(info: WorkflowExecutionInfo) -> JsonObject | None:
    """The memo's summary object (through the console's codec and payload converter) with only its typed fields;
    None if absent, broken, or larger than MAX_MEMO_BYTES (packed or unpacked)."""
    payload = info.memo.fields.get(MEMO_SUMMARY)
    if payload is None or payload.ByteSize() > MAX_MEMO_BYTES:
        return None
    try:
        value = DATA_CONVERTER.payload_converter.from_payload(decode_payload(payload, MAX_MEMO_BYTES))
    except Exception:
        return None
    return typed_summary(value)


def typed_summary(value: object) -> JsonObject | None:
    """The SUMMARY_FIELDS of a memo summary or a ``summary`` answer that have their type; None for a non-object."""
    if not isinstance(value, dict):
        return None
    typed = {k: v for k, v in value.items() if k in SUMMARY_FIELDS and type(v) in SUMMARY_FIELDS[k]}
    if "state" in typed and not _plain_state(typed["state"]):
        del typed["state"]
    if isinstance(typed.get("updated_at"), str) and len(typed["updated_at"]) > MAX_TIME_LENGTH:
        del typed["updated_at"]
    if "counts" in typed and not _bounded_counts(typed["counts"]):
        del typed["counts"]
    return typed


def _plain_state(state: str) -> bool:
    try:
        validate_state(state)
    except InvalidState:
        return False
    return True


def _bounded_counts(counts: dict[Any, Any]) -> bool:  # Any: decoded JSON, checked here
    """Rollups another team's workflow may hand the list: per entity type at most MAX_DISTINCT_STATES plain states."""
    return all(
        kind in ENTITY_TYPES and isinstance(by_state, dict) and len(by_state) <= MAX_DISTINCT_STATES
        and all(isinstance(state, str) and _plain_state(state) and type(n) is int and n >= 0
                for state, n in by_state.items())
        for kind, by_state in counts.items()
    )
