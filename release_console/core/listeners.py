"""Subscribers of a shared source (a mirror, the release list, a timeline feed, the health signal)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Generic, TypeVar

from loguru import logger

Callback = TypeVar("Callback", bound=Callable[..., object])


class Listeners(Generic[Callback]):
    """Callbacks called in subscription order; one that raises is logged and the others still run."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._callbacks: list[Callback] = []

    def add(self, callback: Callback) -> Callable[[], None]:
        """Subscribe ``callback``; returns the unsubscribe (safe to call more than once)."""
        self._callbacks.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return remove

    def __len__(self) -> int:
        return len(self._callbacks)

    def notify(self, *args: object) -> None:
        """Call every callback with ``args`` (a callback may unsubscribe itself meanwhile)."""
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception:
                logger.exception("{} listener failed", self.what)
