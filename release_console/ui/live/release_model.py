"""What every open tab of one release shares: the views of the entities they show, its freshness, its chart.

One :class:`LiveRelease` per watched release follows the shared mirror (and its timeline feed) with one listener.
For each poll that changed something it works out, once, what the change means for the pages: which entities that
some tab shows it touches (the changed ones and their ancestors, whose roll-ups moved), their new views (state,
colour, meaning, time of the last transition, app counts per state, progress), the release's header, and then
sends that one message to every tab (:class:`Channel`). A view is a small dict, updated in place: the elements that
show it hold the same object, so the server's page state is current without any per-tab work, and a tab that draws
a row later draws it as it is now.

A view is kept only while some tab shows its entity (``watch``/``unwatch`` count the tabs), so a 10,000-app release
costs the views of the rows on screen, not of the release.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import orjson
from nicegui import background_tasks

from ...core.listeners import Listeners
from ...domain.ids import EntityType
from ...domain.states import state_meaning
from ...domain.timeline import burn_up
from ...domain.tree import Change, Entity, ReleaseTree, apps_done, percent
from ...readpath.timeline import TimelineFeed
from ..components.badges import ordered_states
from ..components.entity_history import history_note, recent_transitions
from ..components.errors import ERROR_TITLES, error_code
from ..components.freshness import stale_after
from ..components.progress import failed_apps
from ..theme import state_color
from .channel import Channel

if TYPE_CHECKING:
    from ...readpath.mirror import ReleaseMirror

HISTORY = 256
"""Messages whose touched entities are remembered for catch-ups; a tab further behind gets everything it shows."""
CLOSED_PROBLEMS = {"failed", "terminated", "canceled", "timed_out"}
View = dict[str, object]
StructureListener = Callable[["LiveRelease"], None]
UNSUPPORTED_NOTE = "No progress chart: this release's workflow does not implement the optional timeline query."
LOADING_NOTE = "Loading the progress chart…"


def _epoch_ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def chart_points(feed: TimelineFeed) -> list[list[str | int]]:
    """``[[time, done, failed, in progress], …]`` of the feed's points (none when the chart is not shown)."""
    if feed.supported is False or (feed.error is not None and not feed.points):
        return []
    return [[p.at, p.done, p.failed, p.in_progress] for p in map(burn_up, feed.points)]


def timeline_note(feed: TimelineFeed) -> str:
    """What the card says besides (or instead of) the chart."""
    if feed.supported is False:
        return UNSUPPORTED_NOTE
    if feed.error is not None and not feed.points:
        return f"The progress chart could not be read: {feed.error}"
    if feed.error is not None:
        return f"Chart not refreshed: {feed.error}"
    return "" if feed.points else LOADING_NOTE


def app_counts(entity: Entity) -> dict[str, int]:
    """Apps below a node by state (none for an app)."""
    if entity.type is EntityType.APP:
        return {}
    return dict(entity.counts.get(EntityType.APP.value, {}))


def chips(counts: dict[str, int]) -> list[list[str | int]]:
    """``[[state, count, colour], …]``, failures first."""
    return [[state, number, state_color(state)] for state, number in ordered_states(counts)]


UNREADABLE_LABEL = "unreadable"
UNREADABLE_COLOR = "orange-9"


def entity_view(tree: ReleaseTree, entity: Entity, version: int) -> View:
    """What a row (and the header, for the release) shows of one entity; an unreadable one shows that, and why
    (``e``), instead of a state."""
    if entity.state is None:
        return {
            "id": entity.id,
            "t": entity.type.value,
            "s": UNREADABLE_LABEL,
            "c": UNREADABLE_COLOR,
            "m": f"could not be read: {entity.error}",
            "e": entity.error,
            "u": None,
            "k": [],
            "ver": version,
        }
    counts = app_counts(entity)
    view: View = {
        "id": entity.id,
        "t": entity.type.value,
        "s": entity.state,
        "c": state_color(entity.state),
        "m": state_meaning(entity.state),
        "u": entity.updated_at,
        "k": chips(counts),
        "ver": version,
    }
    if entity.type is not EntityType.APP:
        done, total = apps_done(entity)
        view["p"] = [done, total, failed_apps(counts)]
        if entity.parent is None:
            view["lbl"] = f"{done}/{total} apps done ({percent(done, total)}%)"
    return view


def detail_view(tree: ReleaseTree, entity: Entity, version: int) -> View:
    """What the details panel shows beyond the row: parent, children, counts per type, recent transitions."""
    shown = recent_transitions(tree, entity.id)
    return {
        "id": entity.id,
        "parent": entity.parent,
        "children": len(entity.children),
        "counts": [[f"{type_name}s", chips(by_state)] for type_name, by_state in entity.counts.items()],
        "history": [[c.state, state_color(c.state), c.updated_at, c.version] for c in shown],
        "note": history_note(tree, shown),
        "ver": version,
    }


class LiveRelease:
    """The shared page model of one release: views, header, freshness, chart, and the channel to its tabs."""

    def __init__(self, mirror: ReleaseMirror, *, on_idle: Callable[[LiveRelease], None]) -> None:
        self.mirror = mirror
        self.release_id = mirror.release_id
        self.seq = _now_ms()
        """Numbers go on from the time the model was made: a page never sees a channel's numbers go back."""
        self.channel = Channel(f"release|{mirror.release_id}", self.catch_up, seq=self.seq)
        self.on_idle = on_idle
        self.views: dict[str, View] = {}
        self.details: dict[str, View] = {}
        self.watching: Counter[str] = Counter()
        self.watching_details: Counter[str] = Counter()
        self.meta: View = {}
        self.timeline: View = {}
        self.tabs: set[str] = set()
        self.history: deque[tuple[int, frozenset[str], bool]] = deque(maxlen=HISTORY)
        self.structure: Listeners[StructureListener] = Listeners(f"live {self.release_id}")
        """Tabs that must redraw when the tree was replaced or the release's status changed (rare)."""
        self._tree = mirror.tree
        self._status = (mirror.status, mirror.partial, mirror.tree.unreadable)
        """What redraws every tab's shape when it changes (a change can add an unreadable node)."""
        self._update_meta()
        self.feed: TimelineFeed = mirror.timeline
        self._update_timeline()
        self._unsubscribe = [mirror.add_listener(self._on_mirror), self.feed.add_listener(self._on_timeline)]
        self._closed = False

    # ---- tabs -----------------------------------------------------------------------------------------------------
    def attach(self, client_id: str) -> None:
        self.tabs.add(client_id)

    def detach(self, client_id: str) -> None:
        self.tabs.discard(client_id)
        self.channel.unsubscribe(client_id)
        if not self.tabs:
            self.on_idle(self)

    def close(self) -> None:
        """Stop following the mirror and the feed."""
        if not self._closed:
            self._closed = True
            for unsubscribe in self._unsubscribe:
                unsubscribe()

    # ---- views ----------------------------------------------------------------------------------------------------
    @property
    def tree(self) -> ReleaseTree:
        return self.mirror.tree

    @property
    def root(self) -> View:
        """The release's own view (the page header); always kept."""
        return self.view(self.tree.root.id)

    def view(self, entity_id: str) -> View:
        """The shared view of an entity (computed on first use)."""
        view = self.views.get(entity_id)
        if view is None:
            tree = self.tree
            view = self.views[entity_id] = entity_view(tree, tree.entities[entity_id], tree.version)
        return view

    def watch(self, entity_ids: Iterable[str]) -> dict[str, View]:
        """A tab shows these entities: their views, kept up to date until ``unwatch``."""
        shown: dict[str, View] = {}
        for entity_id in entity_ids:
            self.watching[entity_id] += 1
            shown[entity_id] = self.view(entity_id)
        return shown

    def unwatch(self, entity_ids: Iterable[str]) -> None:
        root = self.tree.root_id
        for entity_id in entity_ids:
            left = self.watching[entity_id] - 1
            if left > 0:
                self.watching[entity_id] = left
            else:
                del self.watching[entity_id]
                if entity_id != root:
                    self.views.pop(entity_id, None)

    def detail(self, entity_id: str) -> View:
        """The shared details of a selected entity (counted like ``watch``; release with ``unwatch_detail``)."""
        self.watching_details[entity_id] += 1
        detail = self.details.get(entity_id)
        if detail is None:
            tree = self.tree
            detail = self.details[entity_id] = detail_view(tree, tree.entities[entity_id], tree.version)
        return detail

    def unwatch_detail(self, entity_id: str) -> None:
        left = self.watching_details[entity_id] - 1
        if left > 0:
            self.watching_details[entity_id] = left
        else:
            self.watching_details.pop(entity_id, None)
            self.details.pop(entity_id, None)

    def _refresh(self, entity_ids: Iterable[str]) -> list[str]:
        """Recompute the kept views (and details) of these entities in place; returns the ids refreshed."""
        tree = self.tree
        entities = tree.entities
        version = tree.version
        refreshed: list[str] = []
        for entity_id in entity_ids:
            entity = entities.get(entity_id)
            if entity is None:
                continue
            view = self.views.get(entity_id)
            if view is not None:
                view.clear()
                view.update(entity_view(tree, entity, version))
                refreshed.append(entity_id)
            detail = self.details.get(entity_id)
            if detail is not None:
                detail.clear()
                detail.update(detail_view(tree, entity, version))
                if view is None:
                    refreshed.append(entity_id)
        return refreshed

    # ---- following the mirror -------------------------------------------------------------------------------------
    def _on_mirror(self, mirror: ReleaseMirror, changes: list[Change]) -> None:
        """One poll applied ``changes`` (or ``[]``: reload or status/freshness change): tell every tab, once."""
        reloaded = mirror.tree is not self._tree
        if reloaded:
            self._tree = mirror.tree
            self.views = {i: v for i, v in self.views.items() if i in mirror.tree.entities}
            self.details = {i: v for i, v in self.details.items() if i in mirror.tree.entities}
            ids = self._refresh(list(self.views) + list(self.details))
        else:
            kept = mirror.tree.touched(c.id for c in changes) if changes else {mirror.tree.root_id}
            ids = self._refresh(i for i in kept if i in self.views or i in self.details)
        status = (mirror.status, mirror.partial, mirror.tree.unreadable)
        restructure = reloaded or status != self._status
        self._status = status
        self._update_meta()
        self._send(ids, reset=reloaded)
        if restructure:
            self.structure.notify(self)

    def _on_timeline(self, _feed: TimelineFeed) -> None:
        self._update_timeline()
        self._send([], timeline=True)

    def _send(self, ids: list[str], *, reset: bool = False, timeline: bool = False) -> None:
        self.seq += 1
        self.history.append((self.seq, frozenset(ids), timeline))
        if reset:
            self.history.clear()
            self.history.append((self.seq, frozenset(), True))
        payload = self._message(ids, reset=reset, timeline=timeline or reset)
        if self.channel.subscribers:
            background_tasks.create(self.channel.publish(self.seq, payload), name=f"publish {self.release_id}")
        else:
            self.channel.seq = self.seq

    def _message(self, ids: Iterable[str], *, reset: bool, timeline: bool) -> bytes:
        views = {i: self.views[i] for i in ids if i in self.views}
        details = {i: self.details[i] for i in ids if i in self.details}
        message: View = {"ch": self.channel.name, "seq": self.seq, "now": _now_ms(), "meta": self.meta}
        if views:
            message["views"] = views
        if details:
            message["details"] = details
        if timeline:
            message["timeline"] = self.timeline
        if reset:
            message["reset"] = True
        return orjson.dumps(message)

    def catch_up(self, since: int) -> tuple[int, bytes]:
        """One message bringing a tab that has message ``since`` up to date: the views changed since then."""
        if not self.history or since < self.history[0][0] - 1:
            everything = list(self.views) + list(self.details)
            return self.seq, self._message(everything, reset=True, timeline=True)
        ids: set[str] = set()
        timeline = False
        for seq, changed, chart in self.history:
            if seq > since:
                ids |= changed
                timeline = timeline or chart
        return self.seq, self._message(ids, reset=False, timeline=timeline)

    def heartbeat(self, channel: Channel) -> bytes:
        """The freshness of the data (unnumbered: a tab that misses one misses nothing)."""
        self.meta["asOf"] = _epoch_ms(self.mirror.as_of)
        return orjson.dumps({"ch": self.channel.name, "now": _now_ms(), "meta": {"asOf": self.meta["asOf"]}})

    # ---- header, banner, chart ------------------------------------------------------------------------------------
    def _update_meta(self) -> None:
        mirror = self.mirror
        self.meta.clear()
        self.meta.update({
            "asOf": _epoch_ms(mirror.as_of),
            "version": mirror.version,
            "status": mirror.status,
            "staleAfter": stale_after(mirror.poll_seconds),
            "banner": banner_lines(mirror),
        })

    def _update_timeline(self) -> None:
        self.feed.touch()
        self.timeline.clear()
        self.timeline.update({"points": chart_points(self.feed), "note": timeline_note(self.feed),
                              "revision": self.feed.revision})


def banner_lines(mirror: ReleaseMirror) -> list[list[str]]:
    """The release page's banner: ``[[kind, text], …]`` (kind: info, warning, negative)."""
    lines: list[list[str]] = []
    status = mirror.status
    if status in CLOSED_PROBLEMS:
        lines.append(["negative", f"The release workflow {status}; showing its last known state."])
    elif status == "deleted":
        lines.append(["warning", "The release workflow no longer exists in Temporal; showing its last known state."])
    elif status not in (None, "running", "continued_as_new"):
        lines.append(["info", f"The release workflow has {status}; its state no longer changes."])
    if mirror.partial:
        lines.append(["warning", "Only the release's final summary could be read; the tree is incomplete."])
    if (unread := unreadable_line(mirror.tree)) is not None:
        lines.append(["warning", unread])
    if mirror.error is not None:
        cause = ERROR_TITLES.get(error_code(mirror.error), "read error")
        lines.append(["warning", f"Cannot refresh ({cause}): {mirror.error}. Showing the data as of the time shown; "
                                 "retrying."])
    return lines


def unreadable_line(tree: ReleaseTree) -> str | None:
    """The banner's line about data the console could not read (None when everything was read)."""
    parts = []
    if tree.unreadable:
        parts.append(f"{tree.unreadable} node{'s' if tree.unreadable != 1 else ''} could not be read (marked "
                     "unreadable in the tree, left out of the counts)")
    if tree.unplaced:
        many = tree.unplaced != 1
        parts.append(f"{tree.unplaced} row{'s' if many else ''} had no valid id and "
                     f"{'are' if many else 'is'} not shown")
    if not parts:
        return None
    first = f" First problem: {tree.problems[0]}" if tree.problems else ""
    return "This release's workflow sent data off the query contract: " + "; ".join(parts) + "." + first


def _now_ms() -> int:
    return int(time.time() * 1000)
