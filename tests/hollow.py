"""Hollow nodes, as Kubernetes' kubemark has them: the real node agent
(node/agent.py: registration, heartbeats, the pod informer, the sync loop, pod
workers, status writes, usage reports) over an in-memory runtime, many agents
to a process, talking to real masters through the real API.

Only what needs the machine is left out, with the agent's own switches: no
routes, no log server, no service proxy.

    python -m tests.hollow --master URL [--master URL ...] --token-file FILE \
        --data-dir DIR node-000 node-001 ...

runs the named hollow nodes until SIGTERM (tests/bench/hollow_bench.py starts
several such processes).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from coxapi.client import Client
from node.agent import Agent
from node.config import AgentConfig
from node.registration import NodeConfig
from node.testing import FakeRuntime

log = logging.getLogger(__name__)
USAGE_CPU = 0.01  # cores each hollow container "uses"
USAGE_MEMORY = 16 * 2**20  # bytes each hollow container "uses"


class HollowRuntime(FakeRuntime):
    """A runtime where every image pulls at once and every running container uses a
    steady ``USAGE_CPU`` and ``USAGE_MEMORY`` (so usage reports are made, and stay
    constant instead of rewriting pod status on every sample)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self._monotonic = time.monotonic

    def pull(self, image: str) -> None:
        self.images.add(image)

    def stats(self, cid: str) -> tuple[int, int] | None:
        with self._lock:  # no copy of the container: this runs for each one every sample
            c = self.containers.get(cid)
            if c is None or not c.running:
                return None
        return int(self._monotonic() * USAGE_CPU * 1e9), USAGE_MEMORY


def hollow_config(name: str, masters: list[str], token: str, data_dir: str,
                  heartbeat_period: float = 5.0, sync_period: float = 1.0) -> AgentConfig:
    """An agent's settings with everything that touches the machine switched off."""
    return AgentConfig(node=NodeConfig(name=name, address="127.0.0.1", port=0),
                       data_dir=data_dir, masters=masters, token=token,
                       heartbeat_period=heartbeat_period, sync_period=sync_period,
                       manage_network=False, serve_logs=False, run_proxy=False)


class HollowNodes:
    """Hollow agents, one thread each (plus the agent's own threads)."""

    def __init__(self, names: list[str], masters: list[str], token: str, data_dir: Path,
                 heartbeat_period: float = 5.0, sync_period: float = 1.0,
                 ca_file: str | None = None) -> None:
        self.agents: list[Agent] = []
        for i, name in enumerate(names):
            # Each agent prefers a different master, as behind a load balancer.
            mine = masters[i % len(masters):] + masters[:i % len(masters)]
            cfg = hollow_config(name, mine, token, str(data_dir / name),
                                heartbeat_period, sync_period)
            client = Client(mine, token, timeout=10, user_agent=f"hollow/{name}", ca_file=ca_file)
            self.agents.append(Agent(cfg, client, HollowRuntime()))
        self._threads: list[threading.Thread] = []

    def start(self) -> HollowNodes:
        for agent in self.agents:
            t = threading.Thread(target=agent.run, name=f"hollow-{agent.name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        for agent in self.agents:
            agent.stop()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Run hollow nodes until SIGTERM.")
    ap.add_argument("--master", action="append", required=True, help="an API URL")
    ap.add_argument("--token-file", required=True, type=Path)
    ap.add_argument("--ca-file", help="the cluster CA the masters' certificates chain to")
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--heartbeat-period", type=float, default=5.0)
    ap.add_argument("--sync-period", type=float, default=1.0)
    ap.add_argument("names", nargs="+")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(threadName)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    nodes = HollowNodes(args.names, args.master, args.token_file.read_text().strip(),
                        args.data_dir, args.heartbeat_period, args.sync_period,
                        ca_file=args.ca_file).start()
    stop.wait()
    nodes.stop()


if __name__ == "__main__":
    main()
