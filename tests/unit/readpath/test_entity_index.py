"""The entity index's setting and file: the rate is bounded, and a console pointed elsewhere (another Temporal,
namespace or set of workflow types) or another instance sharing DATA_DIR never reuses a file."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from release_console.core.config import Settings
from release_console.readpath.entity_index import index_file


def test_the_rate_is_low_by_default_and_bounded() -> None:
    assert Settings().ENTITY_INDEX_QUERIES_PER_SECOND == 5
    assert Settings(ENTITY_INDEX_QUERIES_PER_SECOND=0.1).ENTITY_INDEX_QUERIES_PER_SECOND == 0.1
    for wrong in (0, -1, 201):
        with pytest.raises(ValidationError):
            Settings(ENTITY_INDEX_QUERIES_PER_SECOND=wrong)


def test_the_file_is_named_for_temporal_namespace_types_and_instance() -> None:
    base = Settings(TEMPORAL_ADDRESS="temporal:7233", TEMPORAL_NAMESPACE="prod", INSTANCE_NAME="console-1")
    path, key = index_file(base)
    assert path.parent == base.DATA_DIR and path.name.startswith("entity-index-") and path.suffix == ".sqlite"
    assert index_file(base.model_copy()) == (path, key)  # a restart reuses its file
    for other in ({"TEMPORAL_ADDRESS": "elsewhere:7233"}, {"TEMPORAL_NAMESPACE": "staging"},
                  {"RELEASE_WORKFLOW_TYPES": ["ReleaseWorkflow", "TeamRelease"]}):
        moved_path, moved_key = index_file(base.model_copy(update=other))
        assert moved_path != path and moved_key != key, other
    second = index_file(base.model_copy(update={"INSTANCE_NAME": "console-2"}))
    assert second[0] != path and second[1] == key  # same Temporal, its own file
