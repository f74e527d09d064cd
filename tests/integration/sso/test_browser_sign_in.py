"""Single sign-on in a real chromium: the console's button, the provider's own sign-in page, back to the console
signed in; logout ends the provider's session too (its end-session page), so the next sign-in asks again."""

from __future__ import annotations

import pytest
from nicegui.testing import Screen
from selenium.webdriver.common.by import By

from tests.integration.sso.conftest import DISPLAY_NAME
from tests.integration.sso.helpers import fresh
from tests.integration.ui.browser.helpers import _wait_text

pytestmark = pytest.mark.browser


def _sign_in_at_provider(screen: Screen, login: str) -> None:
    _wait_text(screen, "Sign-in")  # the provider's page
    screen.selenium.find_element(By.NAME, "login").send_keys(login)
    screen.selenium.find_element(By.NAME, "password").send_keys("any password")
    screen.selenium.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_sign_in_with_the_provider_and_out_again(sso_env, screen: Screen) -> None:
    name = fresh("admin")
    screen.allowed_js_errors.append("https://fonts.googleapis.com/")  # the provider's pages ask for a web font
    screen.open("/")
    _wait_text(screen, f"Sign in with {DISPLAY_NAME}")
    screen.click(f"Sign in with {DISPLAY_NAME}")
    _sign_in_at_provider(screen, name)
    _wait_text(screen, name)  # back on the console, signed in (the header names the user)
    _wait_text(screen, "admin")
    assert screen.current_path == "/"

    screen.selenium.find_element(By.XPATH, '//button[.//*[normalize-space(text())="Log out"]]').click()
    _wait_text(screen, "Do you want to sign-out")  # the provider's end-session page
    screen.selenium.find_element(By.CSS_SELECTOR, "button[value=yes]").click()
    _wait_text(screen, "Log in to Release Console")  # back on the console's login page, signed out

    screen.click(f"Sign in with {DISPLAY_NAME}")
    _wait_text(screen, "Sign-in")  # the provider asks again: its session ended with the console's
