"""A fake node agent for tests that need nodes but not containers.

It registers nodes through the real API, renews their Leases, and plays
kubelet for pods bound to them: marks them Running and Ready with an IP, and
finishes graceful deletions. It talks only to the API (with failover), so it
keeps working while masters are killed, exactly like a real agent.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from coxapi import errors
from coxapi.client import Client
from coxapi.timefmt import now_rfc3339

NODE_LEASE_NS = "kube-node-lease"


def node_object(name: str, cpu: str = "4", memory: str = "8Gi", pods: str = "110") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {
            "capacity": {"cpu": cpu, "memory": memory, "pods": pods},
            "allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "fake kubelet", "lastHeartbeatTime": now_rfc3339(),
                            "lastTransitionTime": now_rfc3339()}],
        },
    }


class FakeKubelet:
    def __init__(self, client: Client, nodes: list[str], lease_period: float = 1.0) -> None:
        self.client = client
        self.nodes = nodes
        self.lease_period = lease_period
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ip_seq = 10
        self.errors: list[str] = []

    def start(self) -> FakeKubelet:
        for n in self.nodes:
            self._retry(lambda n=n: self._register(n))
        for target in (self._heartbeat_loop, self._pod_loop):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    # ---- internals ---------------------------------------------------------

    def _retry(self, fn: Any, attempts: int = 100) -> Any:
        for _ in range(attempts):
            try:
                return fn()
            except (errors.Unavailable, errors.ClusterUnreachable, errors.Conflict) as e:
                self.errors.append(repr(e))
                if self._stop.wait(0.2):
                    return None
        return None

    def _register(self, name: str) -> None:
        try:
            self.client.create(node_object(name))
        except errors.AlreadyExists:
            pass

    def _renew(self, name: str) -> None:
        lease = {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": NODE_LEASE_NS},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                     "renewTime": now_rfc3339(micro=True)},
        }
        try:
            cur = self.client.get("Lease", name, NODE_LEASE_NS)
            cur["spec"] = lease["spec"]
            self.client.update(cur)
        except errors.NotFound:
            self.client.create(lease)

    def _heartbeat_loop(self) -> None:
        while not self._stop.is_set():
            for n in self.nodes:
                try:
                    self._renew(n)
                except Exception as e:  # noqa: BLE001 - a fake agent keeps going, like a real one
                    self.errors.append(repr(e))
            self._stop.wait(self.lease_period)

    def _pod_loop(self) -> None:
        while not self._stop.is_set():
            try:
                pods = self.client.list("Pod")["items"]
                for pod in pods:
                    if pod["spec"].get("nodeName") in self.nodes:
                        self._sync_pod(pod)
            except Exception as e:  # noqa: BLE001
                self.errors.append(repr(e))
            self._stop.wait(0.2)

    def _sync_pod(self, pod: dict) -> None:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            try:
                self.client.delete("Pod", meta["name"], meta["namespace"], grace_period=0)
            except errors.NotFound:
                pass
            return
        status = pod.get("status") or {}
        if status.get("phase") == "Running":
            return
        self._ip_seq += 1
        now = now_rfc3339()
        cond = [{"type": t, "status": "True", "lastTransitionTime": now}
                for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]
        pod["status"] = {
            "phase": "Running", "podIP": f"10.244.0.{self._ip_seq % 250 + 2}",
            "hostIP": "127.0.0.1", "startTime": now, "conditions": cond,
            "containerStatuses": [
                {"name": c["name"], "ready": True, "restartCount": 0, "image": c.get("image"),
                 "state": {"running": {"startedAt": now}}}
                for c in pod["spec"].get("containers", [])
            ],
        }
        try:
            self.client.update_status(pod)
        except (errors.Conflict, errors.NotFound):
            pass  # re-read on the next pass


def wait_ready(client: Client, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.list("Node")
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.2)
    raise AssertionError("API never became ready")
