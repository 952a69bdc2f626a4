"""CPU seconds per thread of one process over a block, by thread name.

Sampling profilers guess which thread holds the GIL; the kernel's per-thread
CPU times do not guess. Python's thread names are not the kernel's, so they
are read with ``py-spy dump`` (when installed) at the end; threads that ended
before it (and pools' numbered workers) are folded by name.

    with ThreadCpu(pid) as t:
        ...
    print(t.report())
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psutil

_DUMP_THREAD = re.compile(r'Thread (\d+) \(\w+\): "([^"]*)"')
_NUMBERED = re.compile(r"[-_ ]?\(?\d+\)?$")  # "ThreadPoolExecutor-0_3", "Thread-1 (run)"


def _times(p: psutil.Process) -> dict[int, float]:
    try:
        return {t.id: t.user_time + t.system_time for t in p.threads()}
    except psutil.Error:
        return {}


def thread_names(pid: int) -> dict[int, str]:
    """Native thread id -> Python thread name (empty without py-spy)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return {}
    try:
        out = subprocess.run([spy, "dump", "--pid", str(pid), "--nonblocking"],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return {int(tid): name for tid, name in _DUMP_THREAD.findall(out)}


class ThreadCpu:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._proc = psutil.Process(pid)
        self.by_name: collections.Counter[str] = collections.Counter()

    def __enter__(self) -> ThreadCpu:
        self._start = _times(self._proc)
        return self

    def __exit__(self, *_: object) -> None:
        end = _times(self._proc)
        names = thread_names(self.pid)
        for tid, cpu in end.items():
            spent = cpu - self._start.get(tid, 0.0)
            if spent > 0:
                name = names.get(tid)
                self.by_name[_NUMBERED.sub("", name) if name else "(unnamed)"] += spent

    def report(self, top: int = 12) -> str:
        total = sum(self.by_name.values())
        if not total:
            return "    (no CPU measured)"
        return "\n".join(f"    {s:6.1f} s {s / total * 100:5.1f} %  {name}"
                         for name, s in self.by_name.most_common(top))
