"""Finding which releases hold an entity without loading (or polling) them: one ``entity`` query per candidate.

Answers are remembered for ANSWER_TTL_SECONDS (a plan never gains or loses entities, so both "here" and "not here"
stay true), concurrent identical questions share one query, and at most LOCATE_CONCURRENCY queries run at a time.
"""

from __future__ import annotations

import asyncio
import time

from .errors import ReadPathError
from .gateway import TemporalGateway

LOCATE_CONCURRENCY = 8
ANSWER_TTL_SECONDS = 30.0
MAX_ANSWERS_REMEMBERED = 20_000


class EntityLocator:
    """Asks candidate releases whether they hold an entity; keeps no mirror of any of them."""

    def __init__(self, gateway: TemporalGateway) -> None:
        self.gateway = gateway
        self._answers: dict[tuple[str, str], tuple[float, bool]] = {}
        """(release id, entity id) -> (valid until, found)."""
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
        until, found = self._answers.get(key, (0.0, False))
        if until > time.monotonic():
            return found
        task = self._asking.get(key)
        if task is None:
            task = self._asking[key] = asyncio.create_task(self._query(key), name=f"locate {entity_id}")
            task.add_done_callback(lambda _t: self._asking.pop(key, None))
        return await asyncio.shield(task)

    async def _query(self, key: tuple[str, str]) -> bool:
        async with self._slots:
            found = await self.gateway.has_entity(*key)
        self._remember(key, found)
        return found

    def _remember(self, key: tuple[str, str], found: bool) -> None:
        now = time.monotonic()
        if len(self._answers) >= MAX_ANSWERS_REMEMBERED:
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
            while len(self._answers) >= MAX_ANSWERS_REMEMBERED:
                del self._answers[next(iter(self._answers))]
        self._answers[key] = (now + ANSWER_TTL_SECONDS, found)
