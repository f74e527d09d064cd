"""A release at a glance: the one builder of its summary figures (state, version, rollups, apps done).

The ``summary`` query, the memo summary, the REST release detail and the release page all read these figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from .tree import Counts, ReleaseTree, percent


@dataclass(frozen=True, slots=True)
class ReleaseOverview:
    """A release's summary figures at one version (``counts`` is the release's own rollup: read it, never change it)."""

    release_id: str
    state: str
    version: int
    updated_at: str | None
    counts: Counts
    entity_count: int
    apps_total: int
    apps_done: int

    @property
    def progress(self) -> int:
        """Percentage of the release's apps that are done."""
        return percent(self.apps_done, self.apps_total)


def release_overview(tree: ReleaseTree, updated_at: str | None) -> ReleaseOverview:
    """The summary figures of a tree; ``updated_at`` is the caller's notion of the release's last change."""
    root = tree.root
    assert root.state is not None, "the release's own row is always readable (validation checks it)"
    done, total = tree.progress()
    return ReleaseOverview(
        release_id=root.id,
        state=root.state,
        version=tree.version,
        updated_at=updated_at,
        counts=root.counts,
        entity_count=len(tree.entities),
        apps_total=total,
        apps_done=done,
    )
