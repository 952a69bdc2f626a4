"""The restart back-off and probe state machines (node/backoff.py, node/probes.py)."""

from __future__ import annotations

from node.backoff import Backoff
from node.probes import LIVENESS, READINESS, STARTUP, ProbeState


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_first_restart_is_immediate_then_waits_10s_doubling_to_5_minutes():
    clock = Clock()
    b = Backoff(clock)
    key = "uid/c"
    assert b.remaining(key, failed_at=clock.t) == 0
    delays = []
    for _ in range(8):
        b.retried(key)
        delays.append(b.delay(key))
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


def test_wait_counts_from_when_the_container_died():
    clock = Clock()
    b = Backoff(clock)
    b.retried("k")  # first restart happened; the next failure waits 10 s
    died = clock.t
    clock.t += 4
    assert b.remaining("k", died) == 6
    clock.t += 6
    assert b.remaining("k", died) == 0


def test_back_off_resets_after_ten_minutes_of_running():
    clock = Clock()
    b = Backoff(clock)
    for _ in range(5):
        b.retried("k")
    assert b.remaining("k", clock.t, ran_for=599) > 0
    assert b.remaining("k", clock.t, ran_for=600) == 0
    b.retried("k")
    assert b.delay("k") == 10


def test_readiness_starts_unready_and_flips_after_success_threshold():
    p = ProbeState.from_spec(READINESS, {"successThreshold": 2, "failureThreshold": 1,
                                         "periodSeconds": 5}, started_at=0)
    assert p.result is False
    assert p.record(True, 1) is False
    assert p.record(True, 6) is True and p.result is True
    assert p.record(False, 11) is True and p.result is False


def test_liveness_starts_alive_and_fails_after_failure_threshold():
    p = ProbeState.from_spec(LIVENESS, {"failureThreshold": 3}, started_at=0)
    assert p.result is True and not p.failed
    p.record(False, 1)
    p.record(False, 2)
    assert not p.failed
    p.record(True, 3)  # a success resets the count
    p.record(False, 4)
    p.record(False, 5)
    assert not p.failed
    p.record(False, 6, "connection refused")
    assert p.failed and p.message == "connection refused"


def test_initial_delay_then_period():
    p = ProbeState.from_spec(LIVENESS, {"initialDelaySeconds": 7, "periodSeconds": 3},
                             started_at=100)
    assert p.next_due() == 107
    p.record(True, 107.2)
    assert p.next_due() == 110.2


def test_startup_probe_is_done_after_success_and_fails_after_threshold():
    ok = ProbeState.from_spec(STARTUP, {"failureThreshold": 2}, started_at=0)
    assert not ok.done
    ok.record(True, 1)
    assert ok.done and not ok.failed
    bad = ProbeState.from_spec(STARTUP, {"failureThreshold": 2}, started_at=0)
    bad.record(False, 1)
    bad.record(False, 2)
    assert bad.failed


def test_liveness_success_threshold_is_forced_to_one():
    p = ProbeState.from_spec(LIVENESS, {"successThreshold": 5}, started_at=0)
    assert p.success_threshold == 1
