"""The dashboard (/ui/ on every master) in headless Chromium against one
``cox cluster up`` (3 masters, 2 nodes): what an operator does with it, each
step checked on the page (waiting on conditions with deadlines, never sleeping)
and against the cluster's state read through the API.

Screenshots of each page land in the test's tmp_path/screenshots (pytest's
basetemp), named after the page; a failed test adds ``failed.png`` and
``failed.html``.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_without_a_session_every_page_is_the_login_page(cluster, browser):
    browser.open(cluster.ui_url())
    browser.visible("#token")
    browser.visible("#login")
    browser.shoot("login")
    assert not browser.all('[data-page="nodes"]') or not browser.all('[data-name]')
    browser.open(cluster.ui_url() + "#/nodes")
    browser.visible("#token")
    assert not browser.all('[data-name="n1"]')


def test_a_wrong_token_stays_on_the_login_page(cluster, browser):
    browser.open(cluster.ui_url())
    browser.visible("#token").send_keys("not-a-token")
    browser.clickable("#login").click()
    browser.until(lambda d: d.find_element("css selector", "#token").is_displayed()
                  and not d.find_elements("css selector", "[data-name]"),
                  "the login form still shown, and no data")
    assert not [c for c in browser.driver.get_cookies() if c["name"] == "coxswain-session"]


def test_login_sets_a_strict_http_only_secure_session_cookie(cluster, browser):
    browser.login(cluster.ui_url(), cluster.token)
    browser.shoot("cluster")
    (cookie,) = [c for c in browser.driver.get_cookies() if c["name"] == "coxswain-session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert cluster.token not in cookie["value"]  # sealed, not the token itself
