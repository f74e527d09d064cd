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


# ---- RELEASE_WORKFLOW_TYPES: the workflow types listed as releases ---------------------------------------------------
@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    """Settings read from the environment (as the console reads them), with the variables given."""

    def read(**variables: str) -> Settings:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return Settings()

    return read


def test_workflow_types_from_a_comma_list(env) -> None:
    settings = env(RELEASE_WORKFLOW_TYPES=" ReleaseWorkflow, TeamDeployFlow ,,")
    assert settings.release_workflow_types == ("ReleaseWorkflow", "TeamDeployFlow")


def test_workflow_types_from_a_json_list(env) -> None:
    settings = env(RELEASE_WORKFLOW_TYPES='["TeamDeployFlow", "release.v2"]')
    assert settings.release_workflow_types == ("TeamDeployFlow", "release.v2")


def test_workflow_types_are_deduplicated_in_their_order(env) -> None:
    settings = env(RELEASE_WORKFLOW_TYPES="TeamDeployFlow,ReleaseWorkflow,TeamDeployFlow")
    assert settings.release_workflow_types == ("TeamDeployFlow", "ReleaseWorkflow")


@pytest.mark.parametrize(
    "value", ['Release" OR WorkflowType != "x', "ReleaseWorkflow,Team Deploy", '["ok", ""]', '["é"]', "x" * 201]
)
def test_workflow_types_that_could_change_the_visibility_query_are_refused(env, value: str) -> None:
    with pytest.raises(ValidationError, match="is not a plain name"):
        env(RELEASE_WORKFLOW_TYPES=value)


def test_at_most_twenty_workflow_types(env) -> None:
    with pytest.raises(ValidationError, match="at most 20 workflow types"):
        env(RELEASE_WORKFLOW_TYPES=",".join(f"Flow{i}" for i in range(21)))


def test_without_the_list_the_singular_setting_names_the_one_type(env) -> None:
    assert env().release_workflow_types == ("ReleaseWorkflow",)
    assert env(RELEASE_WORKFLOW_TYPE="TeamDeployFlow").release_workflow_types == ("TeamDeployFlow",)


def test_the_list_wins_over_the_singular_setting(env) -> None:
    settings = env(RELEASE_WORKFLOW_TYPE="OldFlow", RELEASE_WORKFLOW_TYPES="TeamDeployFlow,ReleaseWorkflow")
    assert settings.release_workflow_types == ("TeamDeployFlow", "ReleaseWorkflow")
