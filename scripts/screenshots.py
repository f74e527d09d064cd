"""Take the README screenshots (list and release page, light and dark) from a running console.

Usage: python scripts/screenshots.py --url http://localhost:8080 [--release release:x] [--out docs/screenshots]
The password is read from $SCREENSHOT_PASSWORD (or $FIRST_ADMIN_PASSWORD); headless Debian chromium is used.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

FLAGS = (
    "headless", "no-sandbox", "disable-gpu", "disable-dev-shm-usage", "disable-background-networking",
    "disable-component-update", "disable-sync", "no-first-run", "window-size=1400,900", "hide-scrollbars",
)


def browser() -> webdriver.Chrome:
    """Headless chromium with this machine's flags."""
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    if Path("/usr/bin/chromium").exists():
        options.binary_location = "/usr/bin/chromium"
    service = webdriver.ChromeService("/usr/bin/chromedriver") if Path("/usr/bin/chromedriver").exists() else None
    return webdriver.Chrome(options=options, service=service)


def wait_text(driver: webdriver.Chrome, text: str, timeout: float = 30) -> None:
    """Wait until ``text`` is on the page."""
    deadline = time.monotonic() + timeout
    while text not in driver.find_element(By.TAG_NAME, "body").text:
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: {text!r} did not appear on {driver.current_url}")
        time.sleep(0.1)


def click_button(driver: webdriver.Chrome, text: str) -> None:
    """Click the button labelled ``text``."""
    driver.find_element(By.XPATH, f'//button[.//*[normalize-space(text())="{text}"]]').click()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://localhost:8080")
    parser.add_argument("--username", default=os.environ.get("FIRST_ADMIN_USERNAME", "admin"))
    parser.add_argument("--release", help="release to show (default: the first one in the list)")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    password = os.environ.get("SCREENSHOT_PASSWORD") or os.environ.get("FIRST_ADMIN_PASSWORD")
    if not password:
        raise SystemExit("screenshots: set SCREENSHOT_PASSWORD")
    args.out.mkdir(parents=True, exist_ok=True)
    driver = browser()
    try:
        driver.get(f"{args.url}/login")
        wait_text(driver, "Log in to Release Console")
        username_input, password_input = driver.find_elements(By.TAG_NAME, "input")[:2]
        username_input.send_keys(args.username)
        password_input.send_keys(password)
        click_button(driver, "Log in")
        wait_text(driver, "Last change")
        release = args.release or driver.find_element(By.CSS_SELECTOR, "a[href^='/releases/']").text
        for theme in ("light", "dark"):
            driver.get(f"{args.url}/")
            wait_text(driver, release)
            is_dark = bool(driver.execute_script("return document.body.classList.contains('body--dark')"))
            if is_dark != (theme == "dark"):
                toggle = "//header//button[.//*[text()='dark_mode' or text()='light_mode']]"
                driver.find_element(By.XPATH, toggle).click()
                time.sleep(0.5)
            time.sleep(1)
            driver.save_screenshot(str(args.out / f"releases-{theme}.png"))
            driver.get(f"{args.url}/releases/{release}")
            wait_text(driver, "apps done")
            time.sleep(1.5)
            driver.save_screenshot(str(args.out / f"release-{theme}.png"))
        print(f"screenshots of {release} written to {args.out}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
