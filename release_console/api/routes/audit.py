"""/audit: the latest audit entries (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...contract.shapes import JsonObject
from ...runtime.audit import read_entries
from ..deps import AdminUser, running_services
from ..schemas import ErrorResponse

router = APIRouter(prefix="/audit", tags=["audit"],
                   responses={403: {"model": ErrorResponse, "description": "Not an admin (`forbidden`)"}})


@router.get("")
def list_audit_entries(
    admin: AdminUser,
    user: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[JsonObject]:
    """Newest first; ``user`` matches exactly, ``action`` by prefix (e.g. ``login``)."""
    return read_entries(running_services().settings, limit=limit, user=user or None, action=action or None)
