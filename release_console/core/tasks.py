"""Stopping background tasks with a bound: a task that misses its cancellation never hangs a stop."""

from __future__ import annotations

import asyncio

from loguru import logger

STOP_WAIT_SECONDS = 10.0


async def cancel_and_wait(*tasks: asyncio.Task | None, timeout: float = STOP_WAIT_SECONDS) -> None:
    """Cancel ``tasks`` (None and finished ones are skipped) and wait for them at most ``timeout`` seconds.

    The Temporal SDK can turn a cancelled call into an ordinary error, so a task may catch it and go on: such a task
    is left behind with a warning instead of being awaited forever. The tasks' own errors are not raised here.
    """
    pending = [task for task in tasks if task is not None and not task.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return
    _done, still = await asyncio.wait(pending, timeout=timeout)
    for task in still:
        logger.warning("task {!r} did not stop within {:.0f}s; left behind", task.get_name(), timeout)
    for task in pending:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" at exit


def cancelling() -> bool:
    """True when the current task has been asked to stop (an error it catches may be a cancelled call)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
