"""One subscriber list for every shared source: order kept, a failing callback logged, unsubscribing idempotent."""

from __future__ import annotations

from release_console.core.listeners import Listeners


def test_callbacks_run_in_order_and_a_failing_one_does_not_stop_the_others() -> None:
    listeners: Listeners = Listeners("test")
    heard: list[tuple[str, int]] = []

    def broken(_value: int) -> None:
        raise RuntimeError("boom")

    listeners.add(lambda value: heard.append(("first", value)))
    listeners.add(broken)
    listeners.add(lambda value: heard.append(("last", value)))
    listeners.notify(7)
    assert heard == [("first", 7), ("last", 7)]
    assert len(listeners) == 3


def test_a_callback_may_unsubscribe_itself_while_notified_and_unsubscribing_twice_is_harmless() -> None:
    listeners: Listeners = Listeners("test")
    heard: list[int] = []

    def once(value: int) -> None:
        heard.append(value)
        remove()

    remove = listeners.add(once)
    listeners.notify(1)
    listeners.notify(2)
    remove()
    assert heard == [1] and len(listeners) == 0
