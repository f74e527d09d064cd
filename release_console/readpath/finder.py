"""Which releases hold an entity: the one lookup behind REST ``GET /entities/{id}`` and the header's search box.

Every release in visibility is searched, through the entity index (readpath/entity_index.py): no Temporal call per
lookup. Each holder comes with the entity's state there: from the release's mirror when the console follows it
(current), otherwise as indexed (``as_of`` says when; ``current`` when the release was already closed then).
Releases open in the console but not indexed yet are searched in memory too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .entity_index import EntityIndex, IndexProgress
from .mirror import MirrorRegistry, ReleaseMirror


@dataclass(frozen=True, slots=True)
class Holder:
    """One release holding the entity, and the entity's state there."""

    release_id: str
    state: str | None
    """None when the release's mirror could not read the entity's row."""
    as_of: datetime
    """When this state was confirmed with Temporal (the mirror's last poll, or when the release was indexed)."""
    current: bool
    """True when ``state`` is current: read from the release's mirror, or indexed after the release had closed."""
    source: str
    """``mirror`` or ``index``."""


@dataclass(frozen=True, slots=True)
class FindResult:
    """The releases holding an entity (sorted by id) and how far the index is."""

    holders: list[Holder]
    progress: IndexProgress


async def find_holders(
    mirrors: MirrorRegistry, index: EntityIndex, entity_id: str, *, user: str | None
) -> FindResult:
    """Every release holding ``entity_id`` (a well-formed, non-release id), charged to ``user``'s lookups
    (QuotaExceeded past USER_ENTITY_LOOKUPS_PER_MINUTE; None: the console's own search, not charged)."""
    if user is not None:
        mirrors.quotas.charge("entity_lookup", user)
    holders: dict[str, Holder] = {}
    for holding in await index.holders(entity_id):
        mirror = mirrors.peek(holding.release_id)
        if mirror is None or mirror.partial or entity_id not in mirror.tree.entities:
            holders[holding.release_id] = Holder(holding.release_id, holding.state, holding.indexed_at,
                                                 holding.final, "index")
    for mirror in mirrors.mirrors:
        if not mirror.partial and entity_id in mirror.tree.entities:
            holders[mirror.release_id] = mirrored_holder(mirror, entity_id)
    return FindResult([holders[r] for r in sorted(holders)], index.progress())


def mirrored_holder(mirror: ReleaseMirror, entity_id: str) -> Holder:
    """The entity's current state in a release the console follows."""
    return Holder(mirror.release_id, mirror.tree.entities[entity_id].state, mirror.as_of, not mirror.stale, "mirror")
