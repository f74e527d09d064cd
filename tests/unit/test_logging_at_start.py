"""``serve()`` replaces loguru's default handler (which prints a traceback's local variables) before anything
else runs, so even a failure while the settings are read or the embedded server starts logs no secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
from loguru import logger
from release_console import cli

def probe():
    print("default handler present:", 0 in logger._core.handlers)
    print("diagnose anywhere:", any(h._exception_formatter._diagnose for h in logger._core.handlers.values()))
    raise SystemExit(0)

cli._settings_or_exit = probe
cli.serve()
"""


def test_the_default_handler_is_gone_before_the_settings_are_read() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert "default handler present: False" in result.stdout
    assert "diagnose anywhere: False" in result.stdout
