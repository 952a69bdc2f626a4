"""An in-cluster client in a pod (issue 9, item 8): the official Python client's
``kubernetes.config.load_incluster_config()`` reads the ServiceAccount token,
CA and namespace mounted at /var/run/secrets/kubernetes.io/serviceaccount and
``KUBERNETES_SERVICE_HOST``/``_PORT``, and reaches the masters through the
``kubernetes`` Service's ClusterIP over TLS, verifying the masters' certificate
against the mounted CA.

No registry is reachable, so the pod runs the busybox demo image with this
machine's Python (the interpreter, its shared libraries and the virtualenv
holding the ``kubernetes`` package) mounted read-only from the host at the same
paths, found at run time from ``sys`` and ``ldd``. Its account has no grants
first (403), then a RoleBinding to ``view`` (it lists pods, still may not write).

One `cox cluster up` (3 masters, 1 node) with this module's own prefix
(``cxic``), subnet, CIDRs and ports.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator

import pytest

from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "cxic"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.21.0/24", "--cluster-cidr", "10.244.204.0/22",
         "--service-cidr", "10.96.204.0/24", "--api-port", "12843", "--raft-port", "12801",
         "--nodes", "1"]
IMAGE = "coxswain/demo:latest"
NS, SA = "incluster", "app"

# Runs in the pod: what the client saw, and the status of each call (a list of
# pod names when allowed), on one line after "RESULT ".
CLIENT = r"""
import json, os
from kubernetes import client, config
from kubernetes.client.rest import ApiException

config.load_incluster_config()
ns = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
core = client.CoreV1Api()

def call(f):
    try:
        return f()
    except ApiException as e:
        return e.status

review = client.V1SelfSubjectReview(metadata=client.V1ObjectMeta())
print("RESULT " + json.dumps({
    "namespace": ns,
    "host": client.Configuration.get_default_copy().host,
    "env": [os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")],
    "whoami": call(lambda: client.AuthenticationV1Api().create_self_subject_review(
        review).status.user_info.username),
    "list": call(lambda: sorted(p.metadata.name for p in core.list_namespaced_pod(ns).items)),
    "create": call(lambda: core.create_namespaced_config_map(
        ns, {"metadata": {"name": "written"}}) and 201),
}))
"""


def shared_library_dirs(binaries: list[str]) -> list[str]:
    """The directories ``ldd`` finds these binaries' shared libraries (and the
    dynamic loader) in, in order."""
    out = subprocess.run(["ldd", *binaries], capture_output=True, text=True, check=False,
                         timeout=60).stdout
    found = [word for line in out.splitlines() for word in line.split() if word.startswith("/")]
    return list(dict.fromkeys(os.path.dirname(path) for path in found))


def outermost(paths: list[str]) -> list[str]:
    """``paths`` without those inside another one of them (a mount covers them)."""
    paths = sorted(set(paths))
    return [p for p in paths if not any(p.startswith(q.rstrip("/") + "/") for q in paths)]


def host_python() -> tuple[list[str], list[str]]:
    """What a pod needs to run this interpreter with this virtualenv: the
    directories to mount (at the same paths), and its library search path."""
    exe = os.path.realpath(sys.executable)
    extensions = glob.glob(os.path.join(sysconfig.get_path("platstdlib"), "lib-dynload", "*.so"))
    libs = shared_library_dirs([exe, *extensions])
    mounts = outermost([sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                        os.path.dirname(exe), *libs])
    assert "/" not in mounts, mounts
    return mounts, libs


def client_pod(name: str) -> dict:
    mounts, libs = host_python()
    volumes = [{"name": f"host{i}", "hostPath": {"path": path, "type": "Directory"}}
               for i, path in enumerate(mounts)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"serviceAccountName": SA, "restartPolicy": "Never",
                     "terminationGracePeriodSeconds": 1, "volumes": volumes,
                     "containers": [{
                         "name": "client", "image": IMAGE, "imagePullPolicy": "Never",
                         "command": [sys.executable, "-c", CLIENT],
                         "env": [{"name": "LD_LIBRARY_PATH", "value": ":".join(libs)},
                                 {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
                         "volumeMounts": [{"name": f"host{i}", "mountPath": path,
                                           "readOnly": True}
                                          for i, path in enumerate(mounts)]}]}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[harness.Cluster]:
    c = harness.Cluster(tmp_path_factory.mktemp("cluster"), FLAGS)
    with harness.running(c, harness.no_netns):
        # Pod Security allows a hostPath only in a privileged namespace.
        c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
                    "name": NS, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
                {"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": SA, "namespace": NS}})
        yield c


def run_client(cluster: harness.Cluster, name: str) -> dict:
    """Run the client in a pod to its end; what it printed."""
    cluster.apply(client_pod(name))
    def finished() -> str | None:
        phase = cluster.json("get", "pod", name, "-n", NS)["status"].get("phase")
        return phase if phase in ("Succeeded", "Failed") else None
    phase = wait_until(finished, 120, 1, f"pod {name} to finish")
    logs = cluster.cox("logs", name, "-n", NS)
    assert phase == "Succeeded", logs
    (line,) = [x for x in logs.splitlines() if x.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


def test_the_python_client_reaches_the_masters_through_the_kubernetes_service(cluster):
    ip = cluster.json("get", "service", "kubernetes", "-n", "default")["spec"]["clusterIP"]
    seen = run_client(cluster, "denied")
    assert seen["env"] == [ip, "443"] and seen["host"] == f"https://{ip}:443", seen
    assert seen["namespace"] == NS
    assert seen["whoami"] == f"system:serviceaccount:{NS}:{SA}", seen
    # No grants yet: authenticated over TLS, refused by RBAC.
    assert (seen["list"], seen["create"]) == (403, 403), seen


def test_a_role_binding_lets_the_account_read_but_not_write(cluster):
    cluster.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "app-view", "namespace": NS},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": "view"},
                   "subjects": [{"kind": "ServiceAccount", "name": SA, "namespace": NS}]})
    seen = run_client(cluster, "allowed")
    assert seen["list"] == ["allowed", "denied"], seen
    assert seen["create"] == 403, seen  # view reads only
    assert "written" not in cluster.cox("get", "configmaps", "-n", NS)
