"""The header's search box: a release id opens the release; an entity id opens it in its release, or lists the
candidate releases when several hold it. Every release is searched, through the entity index (readpath/finder.py,
the same lookup as REST ``GET /entities/{id}``); until the index has read every release, answers say it is still
indexing. Bad input gets a clear message and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from nicegui import ui

from ... import services
from ...core.links import release_path, with_query
from ...domain.ids import EntityId, EntityType, InvalidEntityId
from ...readpath.entity_index import IndexProgress
from ...readpath.errors import ReadPathError
from ...readpath.finder import find_holders
from ..auth import current_username
from .url_params import shown

MAX_LENGTH = 200
INPUT_ID = "rc-find"
"""The id of the box's text field: the frame's ``/`` shortcut focuses it."""
SHORTCUT_SCRIPT = f"""<script>
/* "/" anywhere but in a text field focuses the header's search box (installed once per page). */
if (!window.rcFindShortcut) {{
  window.rcFindShortcut = true;
  document.addEventListener("keydown", (event) => {{
    if (event.key !== "/" || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element && (target.isContentEditable || target.closest("input, textarea, select"))) return;
    const box = document.getElementById("{INPUT_ID}");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  }});
}}
</script>"""
MAX_CANDIDATES_SHOWN = 50
"""An id held by more releases lists the first this many (by id) in the dialog."""


@dataclass
class SearchOutcome:
    """Where to go (``target``), or what to show: candidate releases or a message."""

    target: str | None = None
    candidates: list[str] = field(default_factory=list)
    entity_id: str | None = None
    message: str | None = None
    note: str | None = None
    """Shown under the candidates: the index is still indexing (another release may hold the id too)."""


async def search(text: str, user: str | None) -> SearchOutcome:
    """What the search box does with ``text`` (a release id, a release key like ``rel-001``, or an entity id),
    searching on behalf of ``user`` (whose lookups are counted)."""
    text = "".join(c for c in text if c.isprintable()).strip()[:MAX_LENGTH]
    if not text:
        return SearchOutcome(message="Type a release id (release:rel-001) or an entity id (app:checkout-7).")
    try:
        running = services.running()
    except services.NotStarted:
        return SearchOutcome(message="The console is still starting; try again in a moment.")
    releases, mirrors, index = running.release_list, running.mirrors, running.entity_index
    candidate = text if ":" in text else f"{EntityType.RELEASE.value}:{text}"
    try:
        parsed = EntityId.parse(candidate)
    except InvalidEntityId as exc:
        return SearchOutcome(message=f"“{shown(text)}” is not a release or entity id: {exc}.")
    entity_id = str(parsed)
    if parsed.type is EntityType.RELEASE:
        await releases.ensure_fresh()
        if releases.get(entity_id) is not None or mirrors.peek(entity_id) is not None:
            return SearchOutcome(target=release_path(entity_id))
        return SearchOutcome(message=f"No release {entity_id}.")
    try:
        result = await find_holders(mirrors, index, entity_id, user=user)
    except ReadPathError as exc:
        return SearchOutcome(message=f"Cannot search now: {exc}.")
    holders = [h.release_id for h in result.holders]
    if len(holders) == 1:
        return SearchOutcome(target=with_query(release_path(holders[0]), {"node": entity_id}))
    if holders:
        return SearchOutcome(candidates=holders, entity_id=entity_id, note=coverage_note(result.progress))
    note = coverage_note(result.progress)
    where = f"the {result.progress.total} releases" if note is None else "the releases indexed so far"
    return SearchOutcome(message=f"{entity_id} was not found in {where}." + (f" {note}" if note else ""))


def coverage_note(progress: IndexProgress) -> str | None:
    """What the index has not covered yet, or None when it has read every release."""
    if progress.complete:
        return None
    if not progress.ready:
        return "Still indexing: the index is starting."
    parts = []
    waiting = progress.total - progress.indexed - progress.unreadable
    if waiting > 0:
        parts.append(f"Still indexing {waiting} of {progress.total} releases.")
    if progress.unreadable:
        parts.append(f"{progress.unreadable} release(s) could not be read (retried later).")
    return " ".join(parts) or None


class SearchBox:
    """An input in the header; Enter searches; candidates and messages appear in a small dialog. ``/`` focuses it
    (the frame adds :data:`SHORTCUT_SCRIPT`)."""

    def __init__(self) -> None:
        self.input = (
            ui.input(placeholder="Find release or entity id (/)")
            .props(f'dense dark standout clearable for={INPUT_ID} aria-keyshortcuts="/" '
                   'aria-label="Find release or entity id"')
            .classes("w-64 max-md:w-40")
            .mark("find")
        )
        self.input.on("keydown.enter", self.run)
        with ui.dialog().mark("find-dialog") as self.dialog, ui.card().classes("gap-2"):
            self.body = ui.column().classes("gap-1")
            ui.button("Close", on_click=self.dialog.close).props("flat dense")

    async def run(self) -> None:
        """Search for the input's text and go there, or explain."""
        outcome = await search(str(self.input.value or ""), current_username())
        if outcome.target is not None:
            ui.navigate.to(outcome.target)
            return
        self.body.clear()
        with self.body:
            if outcome.candidates:
                ui.label(f"{outcome.entity_id} exists in {len(outcome.candidates)} releases:").mark("find-several")
                for release_id in outcome.candidates[:MAX_CANDIDATES_SHOWN]:
                    target = with_query(release_path(release_id), {"node": outcome.entity_id})
                    ui.link(release_id, target).classes("font-mono").mark(f"find-candidate {release_id}")
                if len(outcome.candidates) > MAX_CANDIDATES_SHOWN:
                    more = len(outcome.candidates) - MAX_CANDIDATES_SHOWN
                    ui.label(f"and {more} more (GET /api/v1/entities/{outcome.entity_id} lists them all)")
                if outcome.note:
                    ui.label(outcome.note).classes("text-xs max-w-md").mark("find-note")
            else:
                ui.label(outcome.message or "").classes("max-w-md").mark("find-message")
        self.dialog.open()
