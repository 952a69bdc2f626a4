"""The browser tests' wait: an element replaced under it is looked for again."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

from tests.browser.page import _replaced_is_stale

REPLACED = ('unknown error: unhandled inspector error: {"code":-32000,"message":'
            '"Node with given id does not belong to the document"}')


def _raising(e: Exception):
    def cond(_driver):
        raise e
    return cond


def test_an_element_replaced_before_it_was_read_counts_as_stale():
    with pytest.raises(StaleElementReferenceException):
        _replaced_is_stale(_raising(WebDriverException(REPLACED)))(None)


def test_other_webdriver_errors_still_fail_the_wait():
    with pytest.raises(WebDriverException) as e:
        _replaced_is_stale(_raising(WebDriverException("chrome not reachable")))(None)
    assert not isinstance(e.value, StaleElementReferenceException)


def test_an_answer_passes_through():
    assert _replaced_is_stale(lambda _d: 42)(None) == 42
