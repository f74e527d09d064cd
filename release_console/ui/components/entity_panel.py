"""The side panel: details of the selected entity (id, state, last transition, parent, counts)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from ...domain.states import state_meaning
from ...domain.tree import Entity, ReleaseTree
from .badges import StateBadge, count_chips
from .entity_history import history_section
from .progress import ProgressBar
from .time_ago import exact_time, time_ago
from .tree import signature


class EntityPanel:
    """Shows one entity; rebuilt only when the entity or its rollups change."""

    def __init__(self, on_select: Callable[[str], None]) -> None:
        self.on_select = on_select
        self.entity_id: str | None = None
        self._signature: tuple = ()
        self.card = ui.card().classes("w-full gap-2").mark("entity-panel")
        self._empty()

    def _empty(self) -> None:
        self.card.clear()
        with self.card:
            ui.label("Select a node to see its details.").classes("opacity-70")

    def show(self, tree: ReleaseTree, entity_id: str | None) -> None:
        """Show ``entity_id`` (or the placeholder when None or unknown)."""
        entity = tree.entities.get(entity_id) if entity_id else None
        self.entity_id = entity_id if entity else None
        if entity is None:
            self._signature = ()
            self._empty()
            return
        self._signature = (signature(entity), len(entity.children))
        self.card.clear()
        with self.card:
            self._render(tree, entity)

    def refresh(self, tree: ReleaseTree) -> None:
        """Re-render if the shown entity changed."""
        if self.entity_id is None:
            return
        entity = tree.entities.get(self.entity_id)
        if entity is None or (signature(entity), len(entity.children)) != self._signature:
            self.show(tree, self.entity_id)

    def _render(self, tree: ReleaseTree, entity: Entity) -> None:
        ui.label(entity.id).classes("font-mono font-bold break-all").mark("panel-id")
        with ui.row().classes("items-center gap-2"):
            ui.label(entity.type.value).classes("text-xs uppercase opacity-70")
            StateBadge(entity.state).mark("panel-state")
        ui.label(state_meaning(entity.state)).classes("text-sm opacity-80")
        with ui.grid(columns="auto 1fr").classes("gap-x-3 gap-y-1 text-sm items-center"):
            ui.label("Last transition").classes("opacity-70")
            ui.label(f"{exact_time(entity.updated_at)} ({time_ago(entity.updated_at)})")
            ui.label("Parent").classes("opacity-70")
            if entity.parent:
                parent = entity.parent
                ui.link(parent).classes("font-mono cursor-pointer").on("click.prevent", lambda: self.on_select(parent))
            else:
                ui.label("—")
            ui.label("Children").classes("opacity-70")
            ui.label(str(len(entity.children)))
            if entity.counts:
                done, total = tree.progress(entity.id)
                ui.label("Apps done").classes("opacity-70")
                with ui.row().classes("items-center gap-2"):
                    ProgressBar(done, total, width="w-32")
                    ui.label(f"{done}/{total}")
        for type_name, by_state in entity.counts.items():
            with ui.row().classes("items-center gap-2"):
                ui.label(f"{type_name}s").classes("text-xs w-14 opacity-70")
                count_chips(by_state)
        history_section(tree, entity.id)  # recent transitions from the change log (issue 10, item 4)
