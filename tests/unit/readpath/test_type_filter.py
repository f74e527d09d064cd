"""The visibility query that names the release workflow types."""

from __future__ import annotations

from release_console.core.config import Settings
from release_console.readpath.gateway import release_type_filter


def test_one_type_is_an_equality() -> None:
    assert release_type_filter(Settings(RELEASE_WORKFLOW_TYPE="TeamDeployFlow")) == 'WorkflowType = "TeamDeployFlow"'


def test_several_types_are_one_in_list() -> None:
    settings = Settings(RELEASE_WORKFLOW_TYPES="ReleaseWorkflow,TeamDeployFlow")
    assert release_type_filter(settings) == 'WorkflowType IN ("ReleaseWorkflow", "TeamDeployFlow")'
