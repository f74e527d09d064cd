"""Which releases hold an entity: the one lookup behind REST ``GET /entities/{id}`` and the header's search box.

The search window: releases already mirrored are searched in memory; the newest MAX_SEARCHED_RELEASES others are
asked with one ``entity`` query each (no mirror or poller is started for them; answers are remembered for 30 s by
the locator). An entity of an older release nobody is watching is not found: open its release and search there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ReadPathError
from .mirror import MirrorRegistry
from .release_list import ReleaseList

MAX_SEARCHED_RELEASES = 50
"""At most this many releases (the newest) are searched for an entity that is not in a loaded mirror."""
SEARCH_WINDOW = (
    f"releases open in the console and the newest {MAX_SEARCHED_RELEASES} others are searched; "
    "for an older release, open it and search there"
)


@dataclass
class FindResult:
    """The releases holding an entity, how many were searched, and those that could not be read."""

    holders: list[str]
    searched: int
    others: int
    loaded: int
    problems: list[ReadPathError] = field(default_factory=list)


async def find_holders(
    mirrors: MirrorRegistry, releases: ReleaseList, entity_id: str, *, user: str | None
) -> FindResult:
    """Search the window for ``entity_id`` (a well-formed, non-release id), charged to ``user``'s lookups
    (QuotaExceeded past USER_ENTITY_LOOKUPS_PER_MINUTE; None: the console's own search, not charged)."""
    if user is not None:
        mirrors.quotas.charge("entity_lookup", user)
    await releases.ensure_fresh()
    loaded = {m.release_id: m for m in mirrors.mirrors if not m.partial}
    others = [i.id for i in releases.items if i.id not in loaded][:MAX_SEARCHED_RELEASES]
    found, problems = await mirrors.locator.holders(entity_id, others)
    holders = sorted([r for r, m in loaded.items() if entity_id in m.tree.entities] + found)
    searched = len(loaded) + len(others) - len(problems)
    return FindResult(holders, searched, len(others), len(loaded), problems)
