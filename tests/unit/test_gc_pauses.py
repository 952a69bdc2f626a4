"""A master times its garbage-collection passes and logs the long ones."""

from __future__ import annotations

import gc
import logging

import pytest

from master import gcpauses
from master.gcpauses import GC_PAUSES, PauseTimer


def observed(generation: str) -> float:
    return GC_PAUSES.labels(generation)._sum.get()  # type: ignore[attr-defined]


def test_a_long_pass_is_logged_with_its_generation_and_a_short_one_is_not(caplog):
    ticks = iter([10.0, 10.5, 20.0, 20.01])
    timer = PauseTimer(clock=lambda: next(ticks))
    before = observed("2"), observed("0")
    with caplog.at_level(logging.WARNING, logger="master.gcpauses"):
        timer("start", {"generation": 2})
        timer("stop", {"generation": 2, "collected": 7})
        timer("start", {"generation": 0})
        timer("stop", {"generation": 0, "collected": 0})
    assert [r.getMessage() for r in caplog.records] == [
        "garbage collection (generation 2) paused this master for 0.50s (7 objects collected)"]
    assert observed("2") - before[0] == 0.5
    assert round(observed("0") - before[1], 6) == 0.01


def test_install_times_this_process_collections_once_and_sets_the_thresholds():
    saved = gc.get_threshold()
    timer = None
    try:
        timer = gcpauses.install(12_345, 321)
        assert gcpauses.install() is timer and gc.callbacks.count(timer) == 1
        assert gc.get_threshold() == (12_345, saved[1], 321)
        with pytest.raises(ValueError, match="gc_full_threshold must be 1 or more, not 0"):
            gcpauses.install(700, 0)
        assert gc.get_threshold() == (12_345, saved[1], 321)  # a refusal changes nothing
        before = observed("2")
        gc.collect()
        assert observed("2") > before
    finally:  # the rest of the test run is not timed (nor its pauses logged)
        gc.set_threshold(*saved)
        if timer is not None:
            gc.callbacks.remove(timer)
        gcpauses._installed = None
