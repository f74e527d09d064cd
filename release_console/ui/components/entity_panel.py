"""The side panel: details of the selected entity (id, state, last transition, parent, counts, recent transitions).

Drawn in the browser (entity_panel.js) from the entity's shared view and details (:class:`LiveRelease`), which the
live store keeps current: a tab's panel costs nothing when the release changes.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui.events import GenericEventArguments

from ..live.element import LiveElement
from ..live.release_model import LiveRelease


class EntityPanel(LiveElement, component="entity_panel.js"):
    """Shows one entity of the release (or the placeholder)."""

    def __init__(self, live: LiveRelease, on_select: Callable[[str], None],
                 on_chip: Callable[[str, str], None] | None = None) -> None:
        super().__init__(live.channel, live.seq)
        self.live = live
        self.on_select = on_select
        self.on_chip = on_chip
        """Called with (entity id, state) when a count chip is pressed: filter that subtree to the state."""
        self.entity_id: str | None = None
        self.share(base=None, detail=None)
        self.classes("w-full").mark("entity-panel")
        self.on("select", self._on_select)
        self.on("chip", self._on_chip)

    def _on_select(self, event: GenericEventArguments) -> None:
        parent = event.args.get("id") if isinstance(event.args, dict) else None
        if isinstance(parent, str) and parent in self.live.tree.entities:
            self.on_select(parent)

    def _on_chip(self, event: GenericEventArguments) -> None:
        args = event.args if isinstance(event.args, dict) else {}
        entity_id, state = args.get("id"), args.get("state")
        if self.on_chip is not None and isinstance(state, str) and self.entity_id is not None \
                and entity_id == self.entity_id:
            self.on_chip(self.entity_id, state[:64])

    def show(self, entity_id: str | None) -> None:
        """Show ``entity_id`` (the placeholder when None or unknown)."""
        if entity_id == self.entity_id:
            return
        self.release()
        if entity_id is not None and entity_id in self.live.tree.entities:
            self.entity_id = entity_id
            self.share(base=self.live.watch([entity_id])[entity_id], detail=self.live.detail(entity_id))
        self.share(seq=self.live.seq)
        self.update()

    def release(self) -> None:
        """Stop following the shown entity (a new selection, or the tab is gone)."""
        if self.entity_id is not None:
            self.live.unwatch([self.entity_id])
            self.live.unwatch_detail(self.entity_id)
        self.entity_id = None
        self.share(base=None, detail=None)

    @property
    def shown_state(self) -> str | None:
        """The state the panel shows (the server's copy of the shared view)."""
        base = self.shared("base")
        return None if base is None else str(base["s"])
