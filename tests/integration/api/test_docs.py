"""The OpenAPI schema and the docs page are served by the console itself: no CDN, works offline."""

from __future__ import annotations

import re


async def test_docs_page_uses_only_local_assets(api):
    page = await api.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text) + re.findall(r"url: ?'([^']+)'", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls  # nothing from another host
    for url in urls:
        asset = await api.get(url)
        assert asset.status_code == 200, url
    assert (await api.get("/docs/assets/index.html")).status_code == 404  # only the listed files are served
    assert '"persistAuthorization": false' in page.text  # the bearer token is never kept in localStorage


async def test_openapi_schema_documents_the_read_api_with_examples(api):
    schema = (await api.get("/api/v1/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/releases",
        "/api/v1/releases/{release_id}",
        "/api/v1/releases/{release_id}/entities/{entity_id}",
        "/api/v1/releases/{release_id}/entities/{entity_id}/children",
        "/api/v1/releases/{release_id}/events",
        "/api/v1/releases/{release_id}/export",
        "/api/v1/entities/{entity_id}",
        "/api/v1/health",
        "/api/v1/ready",
        "/api/v1/stats",
    ):
        assert "get" in paths[path], path
    detail = schema["components"]["schemas"]["ReleaseDetail"]
    assert detail["examples"][0]["id"] == "release:rel-001"
    assert "503" in paths["/api/v1/releases/{release_id}"]["get"]["responses"]
