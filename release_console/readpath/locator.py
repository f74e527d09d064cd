"""Finding which releases hold an entity without loading (or polling) them: one ``entity`` query per candidate.

Answers "not here" are remembered briefly (a plan never gains entities), concurrent identical questions share one
query, and at most LOCATE_CONCURRENCY queries run at a time.
"""

from __future__ import annotations

import asyncio
import time

from .errors import ReadPathError
from .gateway import TemporalGateway

LOCATE_CONCURRENCY = 8
ABSENT_TTL_SECONDS = 30.0
MAX_ABSENT_REMEMBERED = 20_000


class EntityLocator:
    """Asks candidate releases whether they hold an entity; keeps no mirror of any of them."""

    def __init__(self, gateway: TemporalGateway) -> None:
        self.gateway = gateway
        self._absent: dict[tuple[str, str], float] = {}
        self._asking: dict[tuple[str, str], asyncio.Task[bool]] = {}
        self._slots = asyncio.Semaphore(LOCATE_CONCURRENCY)

    async def holders(self, entity_id: str, release_ids: list[str]) -> tuple[list[str], list[ReadPathError]]:
        """The releases among ``release_ids`` that hold the entity, and the problems met asking the others."""
        results = await asyncio.gather(*(self._ask(r, entity_id) for r in release_ids), return_exceptions=True)
        found: list[str] = []
        problems: list[ReadPathError] = []
        for release_id, result in zip(release_ids, results, strict=True):
            if result is True:
                found.append(release_id)
            elif isinstance(result, ReadPathError):
                problems.append(result)
            elif isinstance(result, BaseException):
                raise result
        return found, problems

    async def _ask(self, release_id: str, entity_id: str) -> bool:
        key = (release_id, entity_id)
        if self._absent.get(key, 0.0) > time.monotonic():
            return False
        task = self._asking.get(key)
        if task is None:
            task = self._asking[key] = asyncio.create_task(self._query(key), name=f"locate {entity_id}")
            task.add_done_callback(lambda _t: self._asking.pop(key, None))
        return await asyncio.shield(task)

    async def _query(self, key: tuple[str, str]) -> bool:
        async with self._slots:
            found = await self.gateway.has_entity(*key)
        if not found:
            self._remember_absent(key)
        return found

    def _remember_absent(self, key: tuple[str, str]) -> None:
        now = time.monotonic()
        if len(self._absent) >= MAX_ABSENT_REMEMBERED:
            self._absent = {k: t for k, t in self._absent.items() if t > now}
            while len(self._absent) >= MAX_ABSENT_REMEMBERED:
                del self._absent[next(iter(self._absent))]
        self._absent[key] = now + ABSENT_TTL_SECONDS
