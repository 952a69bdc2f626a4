"""Headless Chromium driven by Selenium through Debian's chromedriver, and the
few things every test does with the dashboard (log in, open a page, wait, take
a screenshot). Selectors are the dashboard's element contract (docs/dashboard.md).

The driver is the system's /usr/bin/chromedriver, named explicitly: Selenium
never runs its Selenium Manager, so nothing is downloaded. The browser trusts
the masters' own keys (their SPKI pins) and no other bad certificate.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
T = TypeVar("T")


def missing() -> str | None:
    """Why the browser cannot run here (./dev installs both), else None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.access(path, os.X_OK) or shutil.which(os.path.basename(path))):
            return f"no {path} (./dev installs Debian's chromium and chromium-driver)"
    return None


def chromium_options(pins: list[str], profile: Path) -> webdriver.ChromeOptions:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox",  # root in CI: no user namespace sandbox
                "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}",
                # the masters' certificates (signed by the cluster's own CA) and no others
                f"--ignore-certificate-errors-spki-list={','.join(pins)}"):
        opts.add_argument(arg)
    return opts


class Browser:
    def __init__(self, pins: list[str], out: Path, timeout: float = 30) -> None:
        self.out = out
        self.shots = out / "screenshots"
        self.shots.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="cox-chromium-")
        opts = chromium_options(pins, Path(self._profile.name))
        # the DevTools network log: every response body and server-sent event the page got
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)

    def quit(self) -> None:
        self.driver.quit()
        self._profile.cleanup()

    # ---- waiting ---------------------------------------------------------

    def until(self, cond: Callable[[webdriver.Chrome], T], what: str,
              timeout: float | None = None) -> T:
        # live tables re-render: an element found a moment ago may be gone; look again
        return WebDriverWait(self.driver, timeout or self.timeout, poll_frequency=0.1,
                             ignored_exceptions=(NoSuchElementException,
                                                 StaleElementReferenceException)).until(
            _replaced_is_stale(cond), f"timed out waiting for {what}")

    def visible(self, css: str, timeout: float | None = None) -> WebElement:
        return self.until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)),
                          f"{css} visible", timeout)

    def clickable(self, css: str, timeout: float | None = None) -> WebElement:
        return self.until(EC.element_to_be_clickable((By.CSS_SELECTOR, css)),
                          f"{css} clickable", timeout)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def names(self, css: str) -> set[str]:
        """The ``data-name`` of every element matching ``css``, read in one go."""
        return set(self.driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.dataset.name)", css))

    # ---- the dashboard ---------------------------------------------------

    def open(self, url: str) -> None:
        self.driver.get(url)

    def login(self, url: str, token: str) -> None:
        self.open(url)
        self.visible("#token").send_keys(token)
        self.clickable("#login").click()
        self.visible('[data-page="cluster"]')

    def page(self, name: str, shot: str | None = None) -> None:
        """Follow the nav link to page ``name`` and take its screenshot (named
        ``shot``, else after the page) once it shows."""
        self.clickable(f'[data-page="{name}"]').click()
        self.until(lambda d: d.current_url.endswith(f"#/{name}"), f"the {name} page's URL")
        self.loaded(name)
        self.shoot(shot or name)

    def loaded(self, what: str) -> None:
        """Every list of the page has had its first answer."""
        self.until(lambda d: d.execute_script(
            "const m = document.querySelector('main');"
            "return m !== null && m.children.length > 0 && !m.textContent.includes('loading…')"),
            f"the {what} page loaded")

    def row(self, name: str, timeout: float | None = None) -> WebElement:
        return self.visible(f'tr[data-name="{name}"]', timeout)

    def cell(self, name: str, col: str) -> str:
        return self.row(name).find_element(By.CSS_SELECTOR, f'[data-col="{col}"]').text

    def press(self, name: str, action: str) -> None:
        """Press the ``action`` button of row ``name`` (once the page offers it)."""
        self.clickable(f'tr[data-name="{name}"] [data-action="{action}"]').click()

    def act(self, name: str, action: str) -> None:
        """Press an action button of row ``name`` and confirm it."""
        self.press(name, action)
        self.clickable("#confirm-yes").click()

    def shoot(self, name: str) -> Path:
        """Save a PNG of the page as it is now, named after it."""
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def source(self) -> str:
        return self.driver.page_source

    def received(self) -> list[str]:
        """What the page received since the last call: response bodies (those still
        retrievable) and server-sent event and WebSocket messages."""
        got: list[str] = []
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            params = msg.get("params", {})
            if msg["method"] == "Network.eventSourceMessageReceived":
                got.append(params.get("data", ""))
            elif msg["method"] == "Network.webSocketFrameReceived":
                got.append(params.get("response", {}).get("payloadData", ""))
            elif msg["method"] == "Network.loadingFinished":
                try:
                    body = self.driver.execute_cdp_cmd("Network.getResponseBody",
                                                       {"requestId": params["requestId"]})
                except Exception:  # noqa: BLE001 - evicted from the buffer, or no body
                    continue
                got.append(body.get("body", ""))
        return got


def _replaced_is_stale(cond: Callable[[webdriver.Chrome], T]) -> Callable[[webdriver.Chrome], T]:
    """``cond`` with Chromium's other word for a stale element: an element
    found, then replaced by a re-render before it was read (the login page
    redrawn after a refused token), fails with "Node with given id does not
    belong to the document" as an unknown error rather than as stale."""
    def check(d: webdriver.Chrome) -> T:
        try:
            return cond(d)
        except WebDriverException as e:
            if "does not belong to the document" in (e.msg or ""):
                raise StaleElementReferenceException(e.msg) from e
            raise
    return check
