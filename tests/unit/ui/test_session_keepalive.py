"""Session end and activity rules (no console)."""

from __future__ import annotations

from release_console.core.config import Settings
from release_console.ui.auth import SESSION_KEY
from release_console.ui.session_keepalive import record_activity, session_end


def test_session_end_and_activity_rules() -> None:
    settings = Settings(SESSION_MAX_AGE_SECONDS=1000, SESSION_IDLE_SECONDS=100)
    assert session_end({"login_at": 0, "seen_at": 50}, settings) == (150, "idle")
    assert session_end({"login_at": 0, "seen_at": 950}, settings) == (1000, "max_age")
    storage = {SESSION_KEY: {"login_at": 0.0, "seen_at": 0.0, "username": "a"}}
    assert not record_activity(storage, SESSION_KEY, 10.0, settings)  # written at most every idle/4 (25 s)
    assert record_activity(storage, SESSION_KEY, 30.0, settings) and storage[SESSION_KEY]["seen_at"] == 30.0
    assert not record_activity({}, SESSION_KEY, 30.0, settings)  # an ended session is never brought back
