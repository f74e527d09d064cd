"""Error cards the user can act on: what went wrong, in plain words, and where to go next."""

from __future__ import annotations

from nicegui import ui

ERROR_TITLES: dict[str, str] = {
    "release_not_found": "Release not found",
    "entity_not_found": "Entity not found",
    "worker_not_responding": "The release's worker is not responding",
    "temporal_unavailable": "Temporal is unreachable",
    "release_data_invalid": "The release's data could not be read",
    "invalid_id": "Malformed release id",
}

UNEXPECTED = "unexpected"
"""Code of the card shown for a bug (logged server-side): a generic title, no details."""

ERROR_HINTS: dict[str, str] = {
    "release_not_found": "Check the id, or pick a release from the list.",
    "worker_not_responding": "No worker is polling the release's task queue. The page retries on its own.",
    "temporal_unavailable": "The console cannot reach the Temporal server. The page retries on its own.",
    "release_data_invalid": "The workflow answered with data the console does not understand.",
    "invalid_id": "Release ids look like 'release:rel-001'.",
}


def error_code(exc: BaseException) -> str:
    """The read path's error code (``.code``), or 'temporal_unavailable' for anything else."""
    return str(getattr(exc, "code", "") or "temporal_unavailable")


def error_card(code: str, message: str, *, back_link: bool = True) -> ui.card:
    """A card explaining an error with a link back to the release list."""
    with ui.card().classes("w-full max-w-2xl mx-auto mt-8 border-l-4 border-red-7").mark(f"error-{code}") as card:
        with ui.row().classes("items-center gap-2"):
            ui.icon("error_outline", color="red-7").classes("text-2xl")
            ui.label(ERROR_TITLES.get(code, "Something went wrong")).classes("text-lg font-bold")
        ui.label(message).classes("break-all").mark("error-message")
        if code in ERROR_HINTS:
            ui.label(ERROR_HINTS[code]).classes("text-sm opacity-80")
        if back_link:
            ui.link("← Back to all releases", "/").mark("back-link")
    return card
