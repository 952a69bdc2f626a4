"""Processes are recognised by pid *and* argv, and ended by pid."""

from __future__ import annotations

import sys

from localcluster import procs
from tests.support import wait_until

TRAPS_TERM = ("import signal, sys, time\n"
              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "print('ready', flush=True)\n"
              "time.sleep(60)\n")


def test_a_started_process_matches_its_argv_only_and_stops_by_pid(tmp_path):
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    pid = procs.start(argv, tmp_path / "p.log")
    try:
        assert procs.matches(pid, argv)
        assert not procs.matches(pid, [*argv, "--other"])  # a reused pid is not ours
        assert not procs.matches(None, argv)
    finally:
        assert procs.stop(pid, timeout=5)
    assert not procs.matches(pid, argv)
    assert procs.stop(pid)  # stopping what is gone is fine


def test_a_process_that_ignores_sigterm_is_killed_after_the_deadline(tmp_path):
    log = tmp_path / "p.log"
    argv = [sys.executable, "-c", TRAPS_TERM]
    pid = procs.start(argv, log)
    wait_until(lambda: "ready" in log.read_text(), timeout=10, what="the child to trap TERM")
    assert procs.stop(pid, timeout=0.3)
    assert procs.exited(pid)


def test_nsenter_wrapped_argv_matches_the_program_it_execs(tmp_path):
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    pid = procs.start(argv, tmp_path / "p.log")
    try:
        assert procs.matches(pid, ["nsenter", "--net=/run/netns/x", "--", *argv])
    finally:
        procs.stop(pid)


def test_a_process_just_started_is_recognised_as_ours(tmp_path):
    # Right after Popen returns the kernel may not yet show the new program's
    # arguments (/proc/PID/cmdline is empty for a moment); start waits for them.
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    for _ in range(30):
        pid = procs.start(argv, tmp_path / "p.log")
        try:
            assert procs.matches(pid, argv)
        finally:
            procs.stop(pid)


def test_pids_mentioning_finds_children_by_path(tmp_path):
    marker = tmp_path / "exec"
    argv = [sys.executable, "-c", "import time; time.sleep(60)", f"{marker}/containerd.sock"]
    pid = procs.start(argv, tmp_path / "p.log")
    try:
        assert procs.pids_mentioning(marker) == [pid]
        assert procs.pids_mentioning(tmp_path / "exe") == []  # a prefix is not a match
    finally:
        procs.stop(pid)


HOLDS_THE_LOCK = ("import pathlib, sys, time\n"
                  "from coxapi import pidlock\n"
                  "lock = pidlock.acquire(pathlib.Path(sys.argv[1]))\n"
                  "time.sleep(60)\n")


def test_a_master_restarted_by_hand_is_found_by_its_data_dirs_pid_lock(tmp_path):
    """Issue 9, item 10: ``down`` knew only the pid recorded at ``up``."""
    from coxapi import pidlock

    data_dir = tmp_path / "m1"
    data_dir.mkdir()
    recorded_argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    recorded = procs.start(recorded_argv, tmp_path / "old.log")
    assert procs.master_pid(recorded, recorded_argv, data_dir) == recorded
    procs.stop(recorded, timeout=5)
    assert procs.master_pid(recorded, recorded_argv, data_dir) is None
    # started again by hand, with other arguments: only its pid lock says who it is
    by_hand = procs.start([sys.executable, "-c", HOLDS_THE_LOCK,
                           str(data_dir / pidlock.MASTER_PIDFILE)], tmp_path / "new.log")
    try:
        wait_until(lambda: procs.master_pid(recorded, recorded_argv, data_dir) == by_hand, 10,
                   what="the pid lock's holder")
    finally:
        assert procs.stop(by_hand, timeout=5)
    assert procs.master_pid(recorded, recorded_argv, data_dir) is None  # the lock died with it


def test_the_pid_lock_admits_one_holder_and_frees_on_release(tmp_path):
    from coxapi import pidlock

    path = tmp_path / "master.pid"
    assert pidlock.holder(path) is None
    lock = pidlock.acquire(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    other = procs.start([sys.executable, "-c", HOLDS_THE_LOCK, str(path)], tmp_path / "o.log")
    try:
        wait_until(lambda: procs.exited(other), 10, what="the second holder to give up")
        assert "held by another process" in (tmp_path / "o.log").read_text()
    finally:
        procs.stop(other, timeout=5)
    lock.release()
    assert pidlock.holder(path) is None
