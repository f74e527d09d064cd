"""Settings that would be unsafe outside local mode are refused when the settings are read."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from release_console.core.config import Settings

PRODUCTION = {"ENVIRONMENT": "production", "SECRET_KEY": SecretStr("s" * 40)}


def test_metrics_need_a_token_or_to_be_turned_off_outside_local_mode() -> None:
    with pytest.raises(ValidationError, match="METRICS_TOKEN must be set"):
        Settings(**PRODUCTION)
    assert Settings(**PRODUCTION, METRICS_ENABLED=False).METRICS_TOKEN is None
    assert Settings(**PRODUCTION, METRICS_TOKEN=SecretStr("m" * 32)).METRICS_ENABLED
    assert Settings(ENVIRONMENT="local").METRICS_TOKEN is None  # a laptop needs no token


@pytest.mark.parametrize("name", ["ReleaseWorkflow", "release.v2", "Deploy_Flow-3"])
def test_workflow_type_names_that_are_accepted(name: str) -> None:
    assert name == Settings(RELEASE_WORKFLOW_TYPE=name).RELEASE_WORKFLOW_TYPE


@pytest.mark.parametrize("name", ['Release" OR WorkflowType != "x', "Release Workflow", "", "é"])
def test_workflow_type_names_that_could_change_the_visibility_query_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="RELEASE_WORKFLOW_TYPE"):
        Settings(RELEASE_WORKFLOW_TYPE=name)


def test_the_default_key_lifetime_fits_the_maximum() -> None:
    with pytest.raises(ValidationError, match="API_KEY_DEFAULT_DAYS"):
        Settings(API_KEY_DEFAULT_DAYS=400, API_KEY_MAX_DAYS=365)
