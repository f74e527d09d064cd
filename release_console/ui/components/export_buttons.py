"""The release page's CSV / JSON export buttons: the browser downloads /downloads/{id} (the REST export's code)."""

from __future__ import annotations

from nicegui import ui

from ...core.links import download_path


def export_buttons(release_id: str) -> None:
    """Two small buttons; each starts a streamed download of the whole release."""
    with ui.button_group().props("flat").mark("export-buttons"):
        for format, label in (("csv", "CSV"), ("json", "JSON")):
            name = f"{release_id.replace(':', '-')}.{format}"
            ui.button(
                label,
                icon="download",
                on_click=lambda _, f=format, n=name: ui.download.from_url(download_path(release_id, f), n),
            ).props("flat dense no-caps").tooltip(f"download every entity as {label}").mark(f"export-{format}")
