"""Stopping background tasks never hangs: a task that swallows its cancellation is left behind after the bound."""

from __future__ import annotations

import asyncio
import contextlib

from release_console.core.tasks import cancel_and_wait


async def test_cancelled_tasks_are_awaited_and_none_or_finished_ones_skipped() -> None:
    stopped: list[str] = []

    async def polite() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append("polite")

    task = asyncio.create_task(polite())
    finished = asyncio.create_task(asyncio.sleep(0))
    await finished
    await asyncio.sleep(0)
    await cancel_and_wait(task, None, finished)
    assert stopped == ["polite"] and task.cancelled()


async def test_a_task_that_swallows_its_cancellation_is_left_behind_after_the_timeout() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):  # like an SDK call turning cancel into an error
                await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await cancel_and_wait(task, timeout=0.1)  # returns although the task is still running
    assert not task.done()
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=1)
    assert task.done()


async def test_a_task_that_failed_does_not_raise_here() -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("its own error")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0.01)
    await cancel_and_wait(task)
    assert isinstance(task.exception(), ValueError)
