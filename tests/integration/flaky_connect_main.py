"""``python main.py`` with an injected start-up fault: the first INJECT_CONNECT_FAILURES connections to Temporal fail
the way they do while the embedded dev server's frontend is still starting (-1: every one fails). Run by
tests/test_startup.py as a subprocess."""

from __future__ import annotations

import os

from release_console import services
from release_console.cli import serve

FAILURES = int(os.environ.get("INJECT_CONNECT_FAILURES", "0"))
_real_connect = services.connect
_calls = 0


async def _flaky_connect(settings, **kwargs):  # type: ignore[no-untyped-def]
    global _calls
    _calls += 1
    if FAILURES < 0 or _calls <= FAILURES:
        raise RuntimeError(
            "Failed client connect: get_system_info: status: Unavailable, message: \"Frontend is not healthy yet\" "
            f"(injected failure {_calls})"
        )
    return await _real_connect(settings, **kwargs)


services.connect = _flaky_connect

if __name__ in {"__main__", "__mp_main__"}:
    serve()
