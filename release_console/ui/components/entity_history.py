"""The details panel's "recent transitions" of one entity, from the mirror's change log (``tree.changes``).

The log is bounded (the newest changes_kept changes; a mirror's log starts at the version it loaded), so the list
says plainly when older transitions are no longer kept. Reading it walks the log backwards and stops after
MAX_SHOWN matches; it runs once per change of a selected entity (the release's live model), never per tab or tick.
"""

from __future__ import annotations

from ...domain.tree import Change, ReleaseTree

MAX_SHOWN = 10


def recent_transitions(tree: ReleaseTree, entity_id: str, limit: int = MAX_SHOWN) -> list[Change]:
    """The entity's newest transitions still in the change log, newest first (at most ``limit``)."""
    found: list[Change] = []
    for change in reversed(tree.changes):
        if change.id == entity_id:
            found.append(change)
            if len(found) >= limit:
                break
    return found


def history_note(tree: ReleaseTree, shown: list[Change], limit: int = MAX_SHOWN) -> str:
    """What the list leaves out, said plainly."""
    if len(shown) >= limit:
        return f"The latest {limit} transitions; older ones are not shown."
    if tree.log_floor > 0:
        return (
            f"Transitions up to version {tree.log_floor} are no longer kept "
            f"(the change log keeps the newest {tree.changes_kept:,} changes since the console started watching)."
        )
    return "Every transition since the release started is shown."
