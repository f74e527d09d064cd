"""A release list that is due is answered at once while it refreshes; only a list too old to show waits.

The gateway here is a stand-in whose listing waits on a gate, so "a refresh that takes longer than the interval"
(thousands of releases in visibility) can be held open for as long as the test needs.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.common import TypedSearchAttributes

from release_console.core.config import Settings
from release_console.readpath.release_list import ReleaseList
from release_console.readpath.visibility import ListedRelease


class GatedGateway:
    """Lists no releases, each listing only once the gate is open."""

    health = None

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.listing = asyncio.Event()
        """Set when a listing starts."""

    async def list_releases(self, **_listing: object) -> list:
        self.listing.set()
        await self.gate.wait()
        return []


async def test_a_due_list_is_answered_at_once_and_an_old_one_waits_for_its_refresh() -> None:
    gateway = GatedGateway()
    releases = ReleaseList(gateway, Settings(RELEASE_LIST_REFRESH_SECONDS=0.1))  # type: ignore[arg-type]
    first = asyncio.create_task(releases.ensure_fresh())
    await asyncio.sleep(0.05)
    assert not first.done(), "with nothing listed yet, the first reader waits for the listing"
    gateway.gate.set()
    await asyncio.wait_for(first, 1)
    assert releases.as_of is not None and releases.fresh

    gateway.gate.clear()  # from now on a refresh hangs until the test opens the gate again
    gateway.listing.clear()
    releases.start()
    try:
        await asyncio.sleep(0.15)  # due: older than the 0.1 s interval, younger than serve_due_seconds
        assert not releases.fresh
        await asyncio.wait_for(releases.ensure_fresh(), 0.05)  # answered as it is, not after the refresh
        await asyncio.wait_for(gateway.listing.wait(), 1)  # while a refresh is under way

        releases.serve_due_seconds = 0.0  # now too old to show: a reader waits for the refresh
        waiting = asyncio.create_task(releases.ensure_fresh())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        gateway.gate.set()
        await asyncio.wait_for(waiting, 1)
        assert releases.fresh
    finally:
        gateway.gate.set()
        await releases.stop()


class ListingGateway:
    """Lists the rows it holds (the test changes them between listings)."""

    health = None

    def __init__(self, rows: list[ListedRelease]) -> None:
        self.rows = rows

    async def list_releases(self, **_listing: object) -> list[ListedRelease]:
        return list(self.rows)


def _row(release_id: str, state: str) -> ListedRelease:
    return ListedRelease(id=release_id, workflow_type="ReleaseWorkflow", status="running",
                         start_time=datetime(2026, 1, 1, tzinfo=UTC), close_time=None,
                         search_attributes=TypedSearchAttributes.empty,
                         memo_summary={"state": state, "version": 1, "apps_total": 3, "apps_done": 0})


async def test_a_full_listing_keeps_the_items_of_unchanged_rows() -> None:
    gateway = ListingGateway([_row("release:a", "deploying"), _row("release:b", "deploying")])
    releases = ReleaseList(gateway, Settings())  # type: ignore[arg-type]
    await releases.refresh(full=True)
    a, b = releases.get("release:a"), releases.get("release:b")
    gateway.rows = [_row("release:a", "deploying"), _row("release:b", "failed")]
    await releases.refresh(full=True)
    assert releases.get("release:a") is a, "an unchanged row keeps its item: listeners skip it by identity"
    changed = releases.get("release:b")
    assert changed is not b and changed is not None and changed.state == "failed"
