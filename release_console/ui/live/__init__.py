"""Live pages: what every tab of a page view shares is worked out once and sent, encoded once, to all of them.

``rc_live.js`` is the page's side (store, clock, socket listener); :data:`LIVE_LIBRARY` is how components that read
it declare the dependency (one path, so every page loads one copy of the module); :func:`live_css` their styles.
"""

from functools import cache
from pathlib import Path

LIVE_LIBRARY = (Path(__file__).parent / "rc_live.js").resolve()


@cache
def live_css() -> str:
    """The live components' styles (added to every page by the frame)."""
    return (Path(__file__).parent / "live.css").read_text(encoding="utf-8")
