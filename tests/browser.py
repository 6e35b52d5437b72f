"""A real headless Chromium for the browser tests (Debian's `chromium` + `chromium-driver`).

Selenium drives the system's browser through its chromedriver: nothing is downloaded at
test time, so it works offline. When either is missing the tests fail (not skip) and
say how to install them: CI installs both (.ci/run), so a skip would hide a broken page.
Screenshots go to SCREENSHOTS; `make test` prints the folder at the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / ".learninngest" / "screenshots"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",  # as root in a container the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # small /dev/shm in containers crashes tabs
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)
INSTALL_HINT = (
    "install them with `apt-get install chromium chromium-driver` (.ci/run does), or point "
    "CHROMIUM_BINARY and CHROMEDRIVER at them"
)


def find(variable: str, *names: str) -> str | None:
    if os.environ.get(variable):
        return os.environ[variable]
    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    binary = find("CHROMIUM_BINARY", "chromium", "chromium-browser")
    driver_path = find("CHROMEDRIVER", "chromedriver")
    if binary is None or driver_path is None:
        pytest.fail(f"the browser tests need Chromium and its driver: {INSTALL_HINT}", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: Any) -> list[str]:
    """Console errors since the last call (reading the log empties it)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver: Any, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
