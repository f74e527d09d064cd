"""axe-core (npm, pinned in tests/axe) run inside the page a selenium driver shows: its violations, and a readable
account of the ones that block."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

AXE_DIR = Path(__file__).parents[3] / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("critical", "serious")
"""Impacts that fail a page."""

RUN_AXE = r"""
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']})
  .then(r => done(r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
    summaries: v.nodes.map(n => (n.failureSummary || '').replace(/\s+/g, ' ')),
  }))))
  .catch(e => done({error: String(e)}));
"""


@cache
def axe_source() -> str:
    """axe.min.js as installed by ``scripts/setup.sh --test`` (``npm ci`` in tests/axe)."""
    if not AXE_SCRIPT.is_file():
        pytest.fail(f"axe-core is not installed: run scripts/setup.sh --test (npm ci in {AXE_DIR})")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """Every axe-core violation on the page the driver shows now (``id``, ``impact``, ``help``, and per element its
    ``targets`` selector and its ``summaries``: what to fix)."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(axe_source())
    driver.set_script_timeout(60)
    result = driver.execute_async_script(RUN_AXE)
    if isinstance(result, dict):
        raise AssertionError(f"axe-core failed: {result.get('error')}")
    return list(result)


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations of critical or serious impact."""
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violation: dict[str, Any], shown: int = 3) -> str:
    """One line: rule id, impact, how many elements, and the first few of their selectors."""
    targets = violation["targets"]
    more = f" (+{len(targets) - shown} more)" if len(targets) > shown else ""
    return (f"{violation['id']} [{violation['impact']}] x{len(targets)}: {violation['help']}; "
            f"{', '.join(targets[:shown])}{more}")
