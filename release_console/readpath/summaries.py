"""States of releases whose visibility rows carry neither the console's search attributes nor its memo.

Another team's workflow may implement the query contract without publishing ``ReleaseState`` or the memo summary.
The release list then reads its state once from its ``summary`` query: one query per release and close status (a
running release, then its closed run), never per view or per listing. Answers are kept per (release, run start, status);
a failed one is asked again when a listing shows the row once its back-off has passed, at most SUMMARY_CONCURRENCY at
a time, so a workflow that never answers costs a query per back-off at most and stalls nothing else.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from loguru import logger

from ..contract.names import SA_STATE
from ..contract.shapes import JsonObject
from .errors import ReadPathError
from .gateway import TemporalGateway
from .visibility import ListedRelease

SUMMARY_CONCURRENCY = 4
RETRY_AFTER_SECONDS = (10.0, 60.0, 300.0)
"""Back-off after a failed ``summary`` query: 10 s, then a minute, then every 5 minutes (a running run's)."""
CLOSED_ATTEMPTS = 3
"""A closed run whose ``summary`` failed this often is not asked again (each try replays its history)."""
Key = tuple[str, datetime, str]


class SummaryStates:
    """The ``summary`` answers of releases listed without a state of their own."""

    def __init__(self, gateway: TemporalGateway, on_answer: Callable[[ListedRelease], None]) -> None:
        self.gateway = gateway
        self.on_answer = on_answer
        """Called with the row whose summary just arrived (the list then rebuilds that row's item)."""
        self._answers: dict[Key, JsonObject] = {}
        self._failures: dict[Key, tuple[float, int]] = {}
        """Key -> (retry not before, failures so far)."""
        self._asking: dict[Key, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(SUMMARY_CONCURRENCY)
        self.queries = 0

    @staticmethod
    def needed(row: ListedRelease) -> bool:
        """True when visibility gives no state for this row (no search attribute, no memo summary)."""
        return row.search_attributes.get(SA_STATE) is None and not (row.memo_summary or {}).get("state")

    def get(self, row: ListedRelease) -> JsonObject | None:
        """The summary read for this row's run and status, if any (a plain lookup: safe in a worker thread)."""
        return self._answers.get(_key(row))

    def ask(self, rows: Iterable[ListedRelease]) -> None:
        """Read the summary of each row that has none yet, in the background (not while one is asked or backing off)."""
        now = time.monotonic()
        for row in rows:
            key = _key(row)
            if key in self._answers or key in self._asking or self._failures.get(key, (0.0, 0))[0] > now:
                continue
            self._asking[key] = asyncio.create_task(self._ask(key, row), name=f"summary {row.id}")

    def keep_only(self, release_ids: Iterable[str]) -> None:
        """Forget the answers of releases no longer listed."""
        listed = set(release_ids)
        self._answers = {k: v for k, v in self._answers.items() if k[0] in listed}
        self._failures = {k: v for k, v in self._failures.items() if k[0] in listed}

    async def stop(self) -> None:
        """Cancel the questions in flight."""
        tasks = list(self._asking.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._asking.clear()

    async def _ask(self, key: Key, row: ListedRelease) -> None:
        try:
            async with self._slots:
                self.queries += 1
                answer = await self.gateway.summary(row.id)
            if answer is None:
                raise ReadPathError(f"{row.id} answered its summary query with something that is not an object")
        except ReadPathError as exc:
            failures = self._failures.get(key, (0.0, 0))[1] + 1
            if row.status != "running" and failures >= CLOSED_ATTEMPTS:
                wait = math.inf  # a closed run's answer will not change: no more replays for it
            else:
                wait = RETRY_AFTER_SECONDS[min(failures, len(RETRY_AFTER_SECONDS)) - 1]
            self._failures[key] = (time.monotonic() + wait, failures)
            logger.info("{} lists without a state: its summary query failed ({}); next try in {:.0f} s",
                        row.id, exc, wait)  # inf: never
            return
        finally:
            self._asking.pop(key, None)
        self._failures.pop(key, None)
        self._answers[key] = answer
        self.on_answer(row)


def _key(row: ListedRelease) -> Key:
    return row.id, row.start_time, row.status
