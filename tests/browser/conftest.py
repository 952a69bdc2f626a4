"""Fixtures of the browser layer: one cluster per module, a fresh headless
Chromium per test (its screenshots under the test's tmp_path/screenshots, and
a ``failed`` screenshot with the page source when a test fails).

``COXSWAIN_BROWSER_CLUSTER=DIR`` uses a cluster already up in DIR (brought up
with tests/browser/cluster.py's FLAGS) and leaves it running: quicker reruns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import page
from tests.browser.cluster import Cluster, down, up


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    if why := page.missing():
        pytest.skip(why)
    if existing := os.environ.get("COXSWAIN_BROWSER_CLUSTER"):
        yield Cluster(Path(existing))
        return
    d = tmp_path_factory.mktemp("browser-cluster")
    try:
        up(d)
        yield Cluster(d)
    finally:
        down(d)


@pytest.fixture
def browser(cluster, tmp_path, request) -> Iterator[page.Browser]:
    b = page.Browser(cluster.pins(), tmp_path)
    try:
        yield b
    finally:
        if getattr(request.node, "failed_call", False):
            b.shoot("failed")
            (tmp_path / "failed.html").write_text(b.source())
        b.quit()
