"""Adding and removing a master of a running local cluster
(``cox cluster add-master`` / ``remove-master``), the local form of the
procedure in docs/membership.md, through the same commands (``cox master add``
/ ``remove``).

Adding m<K>: its serving certificate from the cluster CA (``cox master init``
with its name), the seal's Raft rules extended to its port before it listens,
its process started with a ``--peer`` for each current member and recorded in
cluster.json (so ``down`` stops it whatever happens next), ``cox master add``,
then the kubeconfig rewritten to list it. A failed add undoes all of that.
Removing: ``cox master remove`` by Raft address (the master may be dead),
then its process stopped, its data directory and certificate deleted, the
seal and the kubeconfig rewritten without it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import replace

import requests

from . import procs, readiness, seal
from .argv import master_add_argv, master_argv, master_init_argv, master_remove_argv
from .machinery import ClusterError, LocalCluster
from .spec import ClusterSpec, MasterSpec
from .state import MasterRecord

API_TIMEOUT = 60.0  # seconds for a new master's API to answer


def with_masters(spec: ClusterSpec, indices: list[int]) -> ClusterSpec:
    """``spec`` made of the masters ``indices`` (pure)."""
    return replace(spec, masters=len(indices), master_indices=tuple(sorted(indices)))


def next_index(spec: ClusterSpec) -> int:
    """A new master takes the next index after every one the cluster has."""
    return max(m.index for m in spec.all_masters()) + 1


def _run(argv: list[str], what: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0:
        raise ClusterError(f"{what} failed: "
                           + (done.stderr.strip() or done.stdout.strip() or "no output"))
    return done.stdout


def _wait_api(spec: ClusterSpec, m: MasterSpec, alive: int) -> None:
    """Until ``m`` answers /status/raft (it does before it is a member)."""
    token = readiness.admin_token(spec.kubeconfig)
    verify: bool | str = True if spec.insecure_http else str(spec.ca_file)
    deadline = time.monotonic() + API_TIMEOUT
    while time.monotonic() < deadline:
        if procs.exited(alive):
            raise ClusterError(f"master {m.name} exited; see {m.log}")
        try:
            r = requests.get(m.api_url + "/status/raft", timeout=2, verify=verify,
                             headers={"Authorization": f"Bearer {token}"})
            if r.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise ClusterError(f"master {m.name} did not answer at {m.api_url} within "
                       f"{API_TIMEOUT:.0f}s; see {m.log}")


def _forget(lc: LocalCluster, m: MasterSpec, spec: ClusterSpec) -> None:
    """Drop ``m`` from the records, the seal and the disk; ``spec`` is the cluster without it."""
    lc.state.masters = [r for r in lc.state.masters if r.name != m.name]
    lc.spec = spec
    lc.save()
    seal.create(spec)
    shutil.rmtree(m.data_dir, ignore_errors=True)
    for suffix in (".crt", ".key"):
        (spec.pki_dir / f"{m.name}{suffix}").unlink(missing_ok=True)


def add_master(lc: LocalCluster) -> MasterSpec:
    """Start a new master and make it a member; its spec."""
    if not lc.recorded or not lc.state.masters:
        raise ClusterError(f"no local cluster is recorded in {lc.spec.dir}; "
                           "`cox cluster up` first")
    old = lc.spec
    indices = [m.index for m in old.all_masters()]
    if len(indices) >= 7:
        raise ClusterError("the cluster has 7 masters already, the most it may have")
    new = with_masters(old, [*indices, next_index(old)])
    m = new.master(next_index(old))
    lc.say(f"master {m.name}: certificate from the cluster CA")
    _run(master_init_argv(new, urls=old.api_urls), "cox master init")
    lc.say(f"sealing Raft port {m.raft_port} for masters only")
    seal.create(new)
    shutil.rmtree(m.data_dir, ignore_errors=True)  # a leftover of an earlier m<K>
    argv = master_argv(new, m)
    pid = procs.start(argv, m.log)
    lc.state.set_master(MasterRecord(name=m.name, api=m.api_url, raft=m.raft, pid=pid,
                                     argv=argv))
    lc.spec = new
    lc.save()
    lc.say(f"master {m.name}: pid {pid}, API {m.api_url}, Raft {m.raft} (log {m.log})")
    try:
        _wait_api(new, m, pid)
        lc.say(f"cox master add {m.raft}: it catches up, then votes")
        _run(master_add_argv(new, m), "cox master add")
    except BaseException:
        lc.say(f"the add failed: stopping {m.name} and removing it again")
        procs.stop(pid)
        _forget(lc, m, old)
        raise
    _run(master_init_argv(new), "rewriting the kubeconfig")
    return m


def remove_master(lc: LocalCluster, name: str) -> None:
    """Remove the member ``name``, then stop it and delete what it had."""
    rec = lc.state.master(name)
    if not lc.recorded or rec is None:
        raise ClusterError(f"the cluster in {lc.spec.dir} has no master {name} "
                           f"(it has {', '.join(r.name for r in lc.state.masters) or 'none'})")
    old = lc.spec
    m = old.master(int(name[1:]))
    rest = [x.index for x in old.all_masters() if x.index != m.index]
    if not rest:
        raise ClusterError(f"{name} is the last master; `cox cluster down` removes the cluster")
    lc.say(f"cox master remove {m.raft}")
    _run(master_remove_argv(old, m), "cox master remove")
    pid = procs.master_pid(rec.pid, rec.argv, m.data_dir)
    if pid is not None:
        lc.say(f"stopping master {name} (pid {pid})")
        procs.stop(pid)
    _forget(lc, m, with_masters(old, rest))
    _run(master_init_argv(lc.spec), "rewriting the kubeconfig")
