"""The API's OpenAPI schema at /api/v1/openapi.json and a Swagger UI at /docs served without any CDN.

Swagger UI's files (a 5.x Swagger UI, which reads the OpenAPI 3.1 that FastAPI writes) come from the
``fastapi-offline`` package and are served by the console itself, so the docs page works without internet access.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from ..contract.shapes import JsonObject
from ..core.config import API_PREFIX
from .errors import register_error_handlers
from .main import api_router
from .schemas import ErrorResponse

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_NAMES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"})
OPENAPI_URL = f"{API_PREFIX}/openapi.json"
DESCRIPTION = """Read-only access to the releases tracked by Temporal workflows.

Authenticate with `POST /api/v1/login/access-token` (form fields `username`, `password`) and send
`Authorization: Bearer <access_token>` on every other call (the **Authorize** button does this here).
Every answer carries `version` (the workflow's state version) and `as_of` (when the console last confirmed it).
Errors are `{"detail": ..., "code": ...}`; 503 answers carry `Retry-After`.
"""

docs_router = APIRouter(include_in_schema=False)
_schema: JsonObject | None = None


def api_schema() -> JsonObject:
    """The OpenAPI schema of the /api/v1 routes (built once)."""
    global _schema
    if _schema is None:
        schema = get_openapi(
            title="Release Console API", version="1", description=DESCRIPTION, routes=api_router.routes
        )
        _schema = with_one_error_model(schema)
    return _schema


VALIDATION_REF = "#/components/schemas/HTTPValidationError"
ERROR_REF = "#/components/schemas/ErrorResponse"
INVALID_REQUEST = "Malformed id, parameter or body (`invalid_parameter`, `invalid_id`, `invalid_cursor`, …)"
EVERY_CALL = {
    "401": "Missing or invalid bearer token (`not_authenticated`)",
    "503": "The console is starting or stopping, or Temporal cannot answer (`unavailable`, see Retry-After)",
}
"""What any call with a bearer token may answer, whatever the route: its token is checked against the accounts
(401, 503 while they are not loaded), and every route reaches the running services (503 while starting)."""
UNREADABLE_BODY = "A body that cannot be read at all (`bad_request`: not text, broken encoding)"


def with_one_error_model(schema: JsonObject) -> JsonObject:
    """``schema`` with every 4xx answered by ErrorResponse: FastAPI documents its own validation-error body for
    422, but the API's handler (api/errors.py) answers ``{"detail", "code", "errors"}`` like every other error;
    and with what any route may answer documented on each (EVERY_CALL for calls with a token, 400 with a body)."""
    error_content = {"application/json": {"schema": {"$ref": ERROR_REF}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            added = dict(EVERY_CALL) if operation.get("security") else {}
            if "requestBody" in operation:
                added["400"] = UNREADABLE_BODY
            for status, description in added.items():
                responses.setdefault(status, {"description": description, "content": error_content})
            answer = responses.get("422")
            if answer is None:
                continue
            media = answer.setdefault("content", {}).setdefault("application/json", {})
            if media.get("schema", {}).get("$ref") in (None, VALIDATION_REF):
                media["schema"] = {"$ref": ERROR_REF}
            if answer.get("description") == "Validation Error":
                answer["description"] = INVALID_REQUEST
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components.setdefault("ErrorResponse", ErrorResponse.model_json_schema())
    return schema


@docs_router.get(OPENAPI_URL)
async def openapi_json() -> JSONResponse:
    """The schema."""
    return JSONResponse(api_schema())


@docs_router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    """Swagger UI with local assets."""
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="Release Console API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
        swagger_ui_parameters={"persistAuthorization": False},  # never keep a bearer token in localStorage
    )


@docs_router.get(f"{API_PREFIX}/docs")
async def api_docs_redirect() -> RedirectResponse:
    """The docs page also answers under the API prefix."""
    return RedirectResponse("/docs")


@docs_router.get("/docs/assets/{name}")
async def swagger_asset(name: str) -> FileResponse:
    """One Swagger UI file from the installed bundle."""
    if name not in ASSET_NAMES:
        raise HTTPException(404, "no such asset")
    return FileResponse(ASSETS / name, headers={"Cache-Control": "public, max-age=86400"})


def install_api(app: FastAPI) -> None:
    """Register the API's error handlers and the offline docs on the app."""
    register_error_handlers(app)
    app.include_router(docs_router)
