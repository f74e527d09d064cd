"""Registering the release search attributes in a namespace (idempotent)."""

from __future__ import annotations

from datetime import timedelta

from loguru import logger
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType

from ..contract.names import SEARCH_ATTRIBUTES


def dev_server_flags() -> list[str]:
    """``--search-attribute NAME=Type`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        type_name = SearchAttributeIndexedValueType(key.indexed_value_type).name.title().replace("_", "")
        flags += ["--search-attribute", f"{key.name}={type_name}"]
    return flags


async def ensure_search_attributes(client: Client, rpc_timeout_seconds: float = 5.0) -> list[str]:
    """Add whichever release search attributes the namespace lacks; return the names added."""
    timeout = timedelta(seconds=rpc_timeout_seconds)
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace), timeout=timeout
    )
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in SEARCH_ATTRIBUTES
        if key.name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing), timeout=timeout
        )
    return sorted(missing)


async def register_search_attributes(client: Client, rpc_timeout_seconds: float = 5.0) -> None:
    """:func:`ensure_search_attributes` for start-up: logs what it added, and a warning (not a crash) when the
    namespace cannot be checked or changed (e.g. no operator permission on a managed cluster)."""
    try:
        added = await ensure_search_attributes(client, rpc_timeout_seconds)
    except Exception as exc:
        logger.warning("could not check/register the release search attributes ({}): {}", type(exc).__name__, exc)
        return
    if added:
        logger.info("registered search attributes {}", ", ".join(added))
