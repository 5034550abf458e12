"""Debian's headless Chromium, driven by Selenium (``apt-get install chromium chromium-driver``: make test-setup).

No browser is downloaded: the binary and the driver are the Debian packages' own, and Selenium Manager
is kept offline. A missing browser fails the test with the command that installs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"


def _which(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(
        f"{' or '.join(names)} is not installed: run `make test-setup` "
        "(apt-get install -y chromium chromium-driver)"
    )


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not try to fetch a browser
    options = webdriver.ChromeOptions()
    options.binary_location = _which(*CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=_which(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
