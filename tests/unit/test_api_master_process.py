"""One master assembled in-process (master.process.Master): the controllers run
only while the store says this replica leads; shutdown stops everything."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from master.auth import init_cluster_dir, load_tokens
from master.config import MasterConfig
from master.process import Master
from raftstore import MemoryStore
from tests.support import free_port, https_session, wait_until


class SwitchableStore(MemoryStore):
    """A MemoryStore whose leadership the test flips."""

    def __init__(self) -> None:
        super().__init__()
        self.leader = False

    def is_leader(self) -> bool:
        return self.leader

    def set_leader(self, value: bool) -> None:
        self.leader = value
        self._notify_leadership(value)


class FakeControllers:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def start(self) -> None:
        self.log.append("start")

    def stop(self) -> None:
        self.log.append("stop")


@pytest.fixture
def master(tmp_path):
    init_cluster_dir(tmp_path, masters=["m1"])
    store = SwitchableStore()
    events: list[str] = []
    cfg = MasterConfig(name="m1", listen=f"127.0.0.1:{free_port()}",
                       raft_addr="127.0.0.1:1", peers=[], data_dir=str(tmp_path / "m1"),
                       token_file=str(tmp_path / "tokens.csv"),
                       cluster_secret_file=str(tmp_path / "cluster-secret"), threads=8,
                       tls_cert_file=str(tmp_path / "pki" / "m1.crt"),
                       tls_private_key_file=str(tmp_path / "pki" / "m1.key"))
    m = Master(cfg, store_factory=lambda _cfg: store,
               controller_factory=lambda objects, _cfg: FakeControllers(events))
    m.start()
    token = load_tokens(tmp_path / "tokens.csv")[0].token
    try:
        yield m, store, events, token
    finally:
        m.stop()


def test_controllers_follow_leadership(master):
    m, store, events, _ = master
    assert events == []
    store.set_leader(True)
    wait_until(lambda: events == ["start"], 5, what="controllers to start")
    store.set_leader(True)  # no change, no second start
    store.set_leader(False)
    wait_until(lambda: events == ["start", "stop"], 5, what="controllers to stop")
    store.set_leader(True)
    wait_until(lambda: events == ["start", "stop", "start"], 5, what="controllers to restart")


def test_the_master_serves_its_api_and_creates_the_system_namespaces(master):
    m, _, _, token = master
    url = f"https://{m.config.listen}"
    s = https_session(str(Path(m.config.token_file).parent / "pki" / "ca.crt"))
    wait_until(lambda: s.get(f"{url}/api/v1/namespaces/kube-node-lease", timeout=2,
                             headers={"Authorization": f"Bearer {token}"}).ok,
               10, what="the system namespaces")
    assert s.get(f"{url}/healthz", timeout=2).text == "ok\n"
    assert s.get(f"{url}/api/v1/pods", timeout=2).status_code == 401


def test_stop_ends_controllers_and_open_watches(master):
    m, store, events, token = master
    store.set_leader(True)
    wait_until(lambda: events == ["start"], 5, what="controllers to start")
    url = f"https://{m.config.listen}/api/v1/configmaps"
    ca = str(Path(m.config.token_file).parent / "pki" / "ca.crt")
    ended = threading.Event()

    def watch() -> None:
        r = requests.get(url, params={"watch": "true", "resourceVersion": "1"}, stream=True,
                         headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=ca)
        for _ in r.iter_lines():
            pass
        ended.set()

    threading.Thread(target=watch, daemon=True).start()
    # stop only once the watch is open: a watch that connects after the stop gets a refused
    # connection, not an end of stream
    wait_until(lambda: m._api_state is not None and len(m._api_state.watchers) == 1, 10,
               what="the watch to be registered")
    m.stop()
    assert events == ["start", "stop"]
    assert ended.wait(10), "an open watch outlived the master"


def test_a_master_without_its_controller_manager_fails_to_import():
    """No scaffolding fallback: a build missing master.leader fails at start."""
    code = ("import sys; sys.modules['master.leader'] = None\n"
            "try:\n    import master.process\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert "master.leader" in out


def test_a_second_master_on_the_same_data_dir_is_refused(master, tmp_path):
    from coxapi import pidlock

    m, store, _, _ = master
    twin = Master(m.config, store_factory=lambda _cfg: store,
                  controller_factory=lambda objects, _cfg: FakeControllers([]))
    with pytest.raises(pidlock.Locked):
        twin.start()
    twin.stop()
