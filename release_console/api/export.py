"""The streamed export of a whole release, shared by REST (``GET /releases/{id}/export``) and the release page's
download buttons (``/downloads/{id}?format=``): one code path, built once per mirror version by ``build_export``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from fastapi.responses import StreamingResponse

from ..readpath.mirror import ReleaseMirror
from .answers import build_export, cache_of, export_json_head

ExportFormat = Literal["json", "csv"]


async def export_response(mirror: ReleaseMirror, format: ExportFormat) -> StreamingResponse:
    """All entities of the mirrored release as a streamed CSV or JSON attachment."""
    export = await cache_of(mirror).get(mirror, ("export", format), lambda: build_export(mirror, format))
    name = mirror.release_id.replace(":", "-")
    if format == "csv":
        headers = {
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "X-Version": str(export.version),
            "X-As-Of": mirror.as_of.isoformat(),  # CSV has no header block: freshness travels in headers
        }
        return StreamingResponse(_stream(export.chunks), media_type="text/csv", headers=headers)
    headers = {"Content-Disposition": f'attachment; filename="{name}.json"'}
    chunks = [export_json_head(mirror, export.version), *export.chunks, b"]}"]
    return StreamingResponse(_stream(chunks), media_type="application/json", headers=headers)


async def _stream(chunks: list[bytes]) -> AsyncIterator[bytes]:
    """Send prepared chunks, each send giving the loop to others."""
    for chunk in chunks:
        yield chunk
