"""Names on the wire: the workflow type, its queries and update, its search attributes and memo key."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

DEFAULT_WORKFLOW_TYPE = "ReleaseWorkflow"

QUERY_SUMMARY = "summary"
QUERY_ENTITY = "entity"
QUERY_CHILDREN = "children"
QUERY_CHANGES = "changes"
QUERY_SNAPSHOT = "snapshot"
QUERY_TIMELINE = "timeline"
"""Optional: the release's compact progress timeline (domain/timeline.py); a workflow without it has no chart."""
UPDATE_TRANSITIONS = "apply_transitions"

SA_STATE = SearchAttributeKey.for_keyword("ReleaseState")
SA_PROGRESS = SearchAttributeKey.for_int("ReleaseProgress")
SA_APPS_TOTAL = SearchAttributeKey.for_int("ReleaseAppsTotal")
SA_APPS_FAILED = SearchAttributeKey.for_int("ReleaseAppsFailed")
SA_UPDATED_AT = SearchAttributeKey.for_datetime("ReleaseUpdatedAt")
SEARCH_ATTRIBUTES = (SA_STATE, SA_PROGRESS, SA_APPS_TOTAL, SA_APPS_FAILED, SA_UPDATED_AT)
MEMO_SUMMARY = "summary"
