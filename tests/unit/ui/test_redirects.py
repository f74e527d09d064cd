"""Where a login may send the browser back to: same-origin paths only."""

from __future__ import annotations

import pytest

from release_console.ui import auth
from release_console.ui.pages import login as login_page


@pytest.mark.parametrize(
    "target",
    [
        "/\t/example.org/", "/\n/example.org", "/\r/example.org", "\t//example.org", "//example.org", "///example.org",
        "/\\example.org", "\\\\example.org", "/x\\..\\..", "https://example.org", "javascript:alert(1)",
        "example.org", "", "/login", "/login/session?ticket=x", "/\x00", "/\x7f/x", "/\u2028/example.org",
        "/" + "a" * 3000,
    ],
)
def test_redirect_targets_other_than_same_origin_paths_are_refused(target: str) -> None:
    assert auth.safe_redirect(target) == "/"


@pytest.mark.parametrize(
    "target", ["/", "/admin/audit?user=x&action=login", "/releases/release:rel-1?node=app:a#top", "/a b", "/é"]
)
def test_same_origin_paths_are_kept(target: str) -> None:
    assert auth.safe_redirect(target) == target


def test_the_session_path_is_served_by_the_login_router() -> None:
    paths = {getattr(route, "path", None) for route in login_page.router.routes}
    assert {auth.LOGIN_PATH, auth.SESSION_PATH} <= paths and auth.is_public(auth.SESSION_PATH)
