"""Another team's workflow type next to the reference one: the team's worker (a process of its own, module-scoped),
its client, and a console that lists both types."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from temporalio.client import Client

from tests.conftest import TEST_DATA_DIR
from tests.foreign_team.workflow import WORKFLOW_TYPE
from tests.helpers import REPO_ROOT, stop_process

BOTH_TYPES = f"ReleaseWorkflow,{WORKFLOW_TYPE}"


@pytest.fixture(scope="module")
def team_queue(temporal_server: str) -> Iterator[str]:
    """The deploy team's worker (``python -m tests.foreign_team.worker``) polling a task queue of its own."""
    queue = f"team-deploy-{uuid.uuid4().hex[:8]}"
    log = (TEST_DATA_DIR / f"{queue}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.foreign_team.worker", temporal_server, queue],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
    )
    try:
        yield queue
    finally:
        stop_process(process)
        log.close()


@pytest.fixture
async def team_client(temporal_server: str) -> AsyncIterator[Client]:
    """The team's own client: the SDK's default data converter, nothing of the console's."""
    yield await Client.connect(temporal_server)


@pytest.fixture
def both_types(console_env: Callable[..., None]) -> None:
    """The console under test lists the reference workflow type and the team's."""
    console_env(RELEASE_WORKFLOW_TYPES=BOTH_TYPES)


@pytest.fixture
def api(both_types: None, api):
    """The integration ``api`` (the console's HTTP client), started after ``both_types`` set its environment."""
    return api


@pytest.fixture
def user(both_types: None, user):
    """The integration ``user`` (NiceGUI's simulated user), its console started after ``both_types``."""
    return user
