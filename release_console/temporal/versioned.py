"""Reading a console store workflow (accounts, notifications) that answers a cheap version query and a snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from temporalio.client import WorkflowHandle

T = TypeVar("T")


async def snapshot_if_changed(handle: WorkflowHandle, version_query: str, snapshot_query: str,
                              snapshot_type: type[T], known_version: int, *, force: bool, rpc_timeout: timedelta,
                              on_query: Callable[[], None]) -> T | None:
    """The store's snapshot when its version is not ``known_version`` (or ``force``), else None; ``on_query`` is
    called before each query is sent (1, or 2 with the snapshot). Raises whatever the query raises."""
    on_query()
    version = await handle.query(version_query, result_type=int, rpc_timeout=rpc_timeout)
    if not force and version == known_version:
        return None
    on_query()
    return await handle.query(snapshot_query, result_type=snapshot_type, rpc_timeout=rpc_timeout)
