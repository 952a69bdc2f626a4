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
