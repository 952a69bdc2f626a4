"""The thread supervisor: starts, notices deaths, joins on stop."""

from __future__ import annotations

import threading

from coxapi.supervisor import StopEvent, Supervisor
from tests.support import wait_until


def test_threads_run_until_stop_and_are_joined():
    sup = Supervisor("test")
    sup.spawn("a", lambda stop: stop.wait())
    sup.spawn("b", lambda stop: stop.wait())
    sup.stop()
    assert sup.join(2) == [] and sup.died == []


def test_a_thread_that_raises_or_returns_early_is_reported():
    sup = Supervisor("test")
    sup.spawn("boom", lambda stop: 1 / 0)
    sup.spawn("quits", lambda stop: None)
    sup.spawn("good", lambda stop: stop.wait())
    wait_until(lambda: len(sup.died) == 2, 5, what="both deaths reported")
    assert set(sup.died) == {"boom", "quits"}
    sup.stop()
    assert sup.join(2) == []


def test_join_names_a_thread_that_does_not_stop():
    release = threading.Event()
    sup = Supervisor("test")
    sup.spawn("stuck", lambda stop: release.wait())
    sup.stop()
    assert sup.join(0.05) == ["stuck"]
    release.set()
    assert sup.join(2) == [] and sup.died == []  # ending after stop is no death


def test_a_shared_stop_event_stops_the_threads():
    stop = threading.Event()
    sup = Supervisor("test", stop)
    sup.spawn("a", lambda s: s.wait())
    stop.set()
    assert sup.join(2) == []


def test_a_oneshot_thread_may_finish_its_job_but_not_raise():
    sup = Supervisor("test")
    done = sup.spawn("job", lambda stop: None, oneshot=True)
    sup.spawn("bad-job", lambda stop: 1 / 0, oneshot=True)
    wait_until(lambda: sup.died == ["bad-job"], 5, what="the raising job reported")
    done.join(2)
    assert not done.is_alive() and sup.died == ["bad-job"]
    sup.stop()
    assert sup.join(2) == []


def test_a_stop_event_calls_back_on_set_and_at_once_when_already_set():
    stop = StopEvent()
    called: list[str] = []
    stop.on_set(lambda: called.append("before"))
    assert called == []
    stop.set()
    assert called == ["before"] and stop.is_set()
    stop.on_set(lambda: called.append("after"))
    assert called == ["before", "after"]
    stop.set()  # set again: no callback runs twice
    assert called == ["before", "after"]
    assert isinstance(Supervisor("test").stop_event, StopEvent)
