"""Links and query strings: keep the view in the URL so a link opens the same view."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode


def with_query(path: str, params: Mapping[str, object | None]) -> str:
    """``path`` plus the non-empty params as a query string."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def release_path(release_id: str) -> str:
    """The console page of a release."""
    return f"/releases/{quote(release_id, safe=':')}"


DOWNLOAD_PREFIX = "/downloads"
"""Where the UI serves a release's export to a signed-in browser (ui/pages/downloads.py)."""


def download_path(release_id: str, format: str) -> str:
    """Where the release page's export button for ``format`` points."""
    return f"{DOWNLOAD_PREFIX}/{release_id}?format={format}"


def temporal_workflow_url(ui_url: str | None, namespace: str, workflow_id: str) -> str | None:
    """The workflow's page in Temporal's web UI, when its address is known."""
    if not ui_url:
        return None
    return f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
