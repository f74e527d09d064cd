"""The export of a whole release, shared by REST (``GET /releases/{id}/export``) and the release page's download
buttons (``/downloads/{id}?format=``): one code path, every entity built once per mirror version (in slices of
SLICE_ROWS rows, through ``mirror.answers``) and streamed as CSV or JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from fastapi.responses import StreamingResponse

from ..domain.tree import Entity, ReleaseTree
from ..readpath.answer_cache import Build
from ..readpath.mirror import ReleaseMirror
from .release import dumps, freshness

SLICE_ROWS = 1000
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""OWASP's CSV injection rule: a cell starting with one of these is prefixed with ``'``."""
EXPORT_COLUMNS = ("id", "type", "parent", "state", "updated_at", "error")
ExportFormat = Literal["json", "csv"]


async def export_response(mirror: ReleaseMirror, format: ExportFormat) -> StreamingResponse:
    """All entities of the mirrored release as a streamed CSV or JSON attachment."""
    export = await mirror.answers.get(("export", format), lambda: build_export(mirror, format))
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


# ---- building ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportBody:
    """Every entity's row as chunks of CSV (header included) or of a JSON array's items, at one version."""

    version: int
    chunks: list[bytes]

    def __len__(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)


def build_export(mirror: ReleaseMirror, fmt: str) -> Build[ExportBody]:
    """Every entity, parents before children, one chunk per SLICE_ROWS rows."""
    tree: ReleaseTree = mirror.tree
    everything = list(tree.entities.values())
    chunks: list[bytes] = [",".join(EXPORT_COLUMNS).encode() + b"\r\n"] if fmt == "csv" else []
    for start in range(0, len(everything), SLICE_ROWS):
        rows = everything[start : start + SLICE_ROWS]
        if fmt == "csv":
            chunks.append(_csv_rows(rows))
        else:
            body = dumps([_export_row(e) for e in rows])[1:-1]
            chunks.append(b"," + body if start else body)
        yield
    return ExportBody(mirror.version, chunks)


def export_json_head(mirror: ReleaseMirror, version: int) -> bytes:
    """The JSON export's opening up to ``"entities":[`` with this moment's freshness."""
    head = {"release_id": mirror.release_id, "version": version, **freshness(mirror)}
    return dumps(head)[:-1] + b',"entities":['


def _export_row(entity: Entity) -> dict[str, object]:
    return {
        "id": entity.id,
        "type": entity.type.value,
        "parent": entity.parent,
        "state": entity.state,
        "updated_at": entity.updated_at,
        "error": entity.error,
    }


def _csv_rows(rows: list[Entity]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(
        [e.id, e.type.value, e.parent or "", csv_safe(e.state or ""), csv_safe(e.updated_at or ""),
         csv_safe(e.error or "")]
        for e in rows
    )
    return buffer.getvalue().encode()


def csv_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP: prefix ``'`` to a leading = + - @ tab or CR)."""
    return "'" + cell if cell.startswith(CSV_FORMULA_START) else cell
