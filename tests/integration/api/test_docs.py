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


async def test_openapi_schema_documents_every_error_with_the_one_error_model(api, admin_headers):
    schema = (await api.get("/api/v1/openapi.json")).json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]  # the API never answers FastAPI's shape
    error_models = {"ErrorResponse", "EntityNotLocated", "AmbiguousEntity"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                if status.startswith("4"):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref.rsplit("/", 1)[1] in error_models, (method, path, status)
            if operation.get("security"):
                assert {"401", "503"} <= set(operation["responses"]), (method, path)
    release_id = schema["paths"]["/api/v1/releases/{release_id}"]["get"]["parameters"][0]["schema"]
    assert release_id["pattern"].startswith("^release:") and release_id["maxLength"] == 136
    refused = await api.get("/api/v1/releases/nope", headers=admin_headers)  # still the route's own check
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_id"
    options = await api.options("/api/v1/users/someone", headers=admin_headers)
    assert options.status_code == 405 and options.headers["allow"] == "GET, PATCH, DELETE"
