"""The batch and scaling workloads of issue 12 through the real ``kubectl``
against ``cox cluster up`` (1 master, 2 nodes), as a user would: a
``kind: List`` manifest applied with client-side validation (issue 15),
``kubectl create job``, an Indexed Job of 5 completions with parallelism 2
whose odd indexes fail once and are retried, ``kubectl create cronjob``,
``kubectl autoscale`` (an autoscaling/v1 HPA, read at v1 and v2), and a
DaemonSet on both nodes with ``kubectl rollout status``.

kubectl 1.32 drives everything it sends as JSON. Its typed commands
(``create job|cronjob|deployment``, ``autoscale``) send protobuf bodies, which
the server answers 415 and client-go does not retry as JSON; those go through
the dispatcher (``/usr/bin/kubectl``), which picks the kubectl of the server's
reported minor. The cox e2e of the same workloads is test_cluster_batch.py.

Uses its own prefix (``cxcp``), subnet, CIDRs and ports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "cxcp"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.25.0/24", "--cluster-cidr", "10.244.244.0/22",
         "--service-cidr", "10.96.244.0/24", "--api-port", "55443", "--raft-port", "55001",
         "--masters", "1", "--nodes", "2"]
# the demo image is on the nodes, not in a registry: a tag other than :latest
# makes kubectl's generators default to IfNotPresent
IMAGE = f"coxswain/demo:{PREFIX}"
V1_HPA = "horizontalpodautoscalers.v1.autoscaling"  # kubectl drops the version of a short name


def _binary(*candidates: str | None) -> str | None:
    for c in candidates:
        path = shutil.which(c) if c and "/" not in c else c
        if path and os.access(path, os.X_OK):
            return path
    return None


KUBECTL = _binary(os.environ.get("KUBECTL"), "/usr/lib/google-cloud-sdk/bin/kubectl.1.32",
                  "kubectl.1.32")
DISPATCHER = _binary("/usr/bin/kubectl", "kubectl")


class Cluster:
    def __init__(self, dir: Path) -> None:
        self.dir = dir
        self.kubeconfig = dir / "kubeconfig"

    def run(self, binary: str | None, *args: str, stdin: str | None = None,
            ok: bool = True) -> subprocess.CompletedProcess:
        assert binary is not None
        done = subprocess.run([binary, "--kubeconfig", str(self.kubeconfig), *args],
                              capture_output=True, text=True, timeout=120, check=False,
                              input=stdin)
        if ok:
            assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        """kubectl 1.32."""
        return self.run(KUBECTL, *args, stdin=stdin).stdout

    def typed(self, *args: str) -> str:
        """A typed kubectl command (protobuf in 1.32: see the module's doc)."""
        return self.run(DISPATCHER, *args).stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def tag_image_on_nodes(self) -> None:
        for node in ("n1", "n2"):
            subprocess.run(["docker", "-H", f"unix:///run/{PREFIX}/{node}/docker.sock", "tag",
                            "coxswain/demo:latest", IMAGE], check=True, timeout=60,
                           capture_output=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    if KUBECTL is None or DISPATCHER is None:
        pytest.skip("kubectl 1.32 and the kubectl dispatcher are needed")
    d = tmp_path_factory.mktemp("kubectl-workloads")
    up = subprocess.run([sys.executable, "-m", "cli.main", "cluster", "up", "--dir", str(d),
                         *FLAGS], capture_output=True, text=True, timeout=400, check=False)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        c = Cluster(d)
        c.tag_image_on_nodes()
        yield c
    finally:
        down = subprocess.run([sys.executable, "-m", "cli.main", "cluster", "down", "--dir",
                               str(d)], capture_output=True, text=True, timeout=300, check=False)
        assert down.returncode == 0, down.stdout + down.stderr


def condition(obj: dict, ctype: str) -> bool:
    return any(c["type"] == ctype and c["status"] == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def completed(cluster: Cluster, job: str, ns: str = "default") -> dict | None:
    j = cluster.json("job", job, "-n", ns)
    return j if condition(j, "Complete") else None


# ---- issue 15: a List, validated client-side ------------------------------------

def list_manifest(pull_policy_field: str = "imagePullPolicy") -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "l-cm"},
         "data": {"a": "1"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "l-svc"},
         "spec": {"selector": {"app": "l"}, "ports": [{"port": 80, "targetPort": 8080}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "l-dep"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "l"}},
                  "template": {"metadata": {"labels": {"app": "l"}}, "spec": {"containers": [
                      {"name": "c", "image": IMAGE, pull_policy_field: "IfNotPresent"}]}}}}]})


def test_a_list_of_several_kinds_applies_and_creates_with_validation(cluster):
    out = cluster.kubectl("apply", "-f", "-", stdin=list_manifest())
    assert out.split("\n")[:3] == ["configmap/l-cm created", "service/l-svc created",
                                   "deployment.apps/l-dep created"], out
    assert cluster.json("configmap", "l-cm")["data"] == {"a": "1"}
    # kubectl checks every item against /openapi/v2 (protobuf) before sending any
    bad = cluster.run(KUBECTL, "apply", "-f", "-", stdin=list_manifest("imagePulPolicy"),
                      ok=False)
    assert bad.returncode != 0
    assert 'unknown field "imagePulPolicy" in io.k8s.api.core.v1.Container' in bad.stderr
    assert "configured" not in bad.stdout  # nothing was sent
    cluster.kubectl("delete", "-f", "-", stdin=list_manifest())
    out = cluster.kubectl("create", "-f", "-", stdin=list_manifest())
    assert "deployment.apps/l-dep created" in out
    assert cluster.json("service", "l-svc")["spec"]["ports"][0]["targetPort"] == 8080
    # the dispatcher's kubectl (the server's minor) validates the same way
    out = cluster.run(DISPATCHER, "apply", "-f", "-", stdin=list_manifest()).stdout
    assert "deployment.apps/l-dep configured" in out or "deployment.apps/l-dep unchanged" in out
    cluster.kubectl("delete", "-f", "-", stdin=list_manifest())


# ---- issue 12: Jobs, CronJobs, HPA, DaemonSets -----------------------------------

def test_kubectl_create_job_runs_to_completion(cluster):
    out = cluster.typed("create", "job", "hello", f"--image={IMAGE}", "--", "/bin/sh", "-c",
                        "echo hello from $HOSTNAME")
    assert out.strip() == "job.batch/hello created"
    done = wait_until(lambda: completed(cluster, "hello"), 120, 1, "job hello to complete")
    assert done["status"]["succeeded"] == 1
    assert cluster.kubectl("logs", "job/hello").startswith("hello from hello-")
    row = next(line.split() for line in cluster.kubectl("get", "jobs").splitlines()
               if line.startswith("hello "))
    assert row[1:3] == ["Complete", "1/1"]


def test_indexed_job_of_five_retries_its_failed_pods(cluster, tmp_path):
    # Each index leaves a mark in a hostPath the pods share; an odd index fails
    # its first try, so indexes 1 and 3 fail once and are retried. Pod
    # Security allows a hostPath only in a privileged namespace.
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kjobs", "labels": {
            "pod-security.kubernetes.io/enforce": "privileged"}}}))
    script = ("echo index=$JOB_COMPLETION_INDEX; "
              "if [ $((JOB_COMPLETION_INDEX % 2)) = 1 ] && [ ! -e /marks/$JOB_COMPLETION_INDEX ];"
              " then touch /marks/$JOB_COMPLETION_INDEX; exit 3; fi")
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "five"}, "spec": {
        "completions": 5, "parallelism": 2, "completionMode": "Indexed", "backoffLimit": 4,
        "template": {"spec": {
            "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
            "volumes": [{"name": "marks", "hostPath": {"path": str(tmp_path),
                                                       "type": "DirectoryOrCreate"}}],
            "containers": [{"name": "work", "image": IMAGE,
                            "command": ["/bin/sh", "-c", script],
                            "volumeMounts": [{"name": "marks", "mountPath": "/marks"}]}]}}}}
    assert cluster.kubectl("apply", "-n", "kjobs", "-f", "-", stdin=json.dumps(job)).strip() == \
        "job.batch/five created"
    cluster.kubectl("wait", "-n", "kjobs", "--for=condition=Complete", "job/five",
                    "--timeout=150s")
    st = cluster.json("job", "five", "-n", "kjobs")["status"]
    assert (st["succeeded"], st["failed"], st["completedIndexes"]) == (5, 2, "0-4"), st
    pods = cluster.json("pods", "-n", "kjobs", "-l", "batch.kubernetes.io/job-name=five")["items"]
    by_phase: dict[str, list[str]] = {}
    for p in pods:
        index = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        by_phase.setdefault(p["status"]["phase"], []).append(index)
        if p["status"]["phase"] == "Succeeded":
            logs = cluster.kubectl("logs", "-n", "kjobs", p["metadata"]["name"])
            assert logs.strip() == f"index={index}"
    assert sorted(by_phase["Succeeded"]) == ["0", "1", "2", "3", "4"]
    assert sorted(by_phase["Failed"]) == ["1", "3"]


def test_kubectl_create_cronjob_reads_back(cluster):
    out = cluster.typed("create", "cronjob", "tick", f"--image={IMAGE}",
                        "--schedule=*/5 * * * *", "--", "/bin/sh", "-c", "date")
    assert out.strip() == "cronjob.batch/tick created"
    cj = cluster.json("cronjob", "tick")
    assert cj["spec"]["schedule"] == "*/5 * * * *"
    assert cj["spec"]["concurrencyPolicy"] == "Allow"  # defaulted
    container = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["command"]) == (IMAGE, ["/bin/sh", "-c", "date"])
    header, row = (line.split(maxsplit=5) for line in
                   cluster.kubectl("get", "cronjob", "tick").splitlines()[:2])
    assert header[:2] == ["NAME", "SCHEDULE"] and row[0] == "tick"
    cluster.kubectl("delete", "cronjob", "tick")


def test_kubectl_autoscale_makes_a_working_hpa_read_at_v1_and_v2(cluster):
    cluster.typed("create", "deployment", "web", f"--image={IMAGE}")
    cluster.kubectl("set", "resources", "deployment", "web", "--requests=cpu=100m")
    out = cluster.typed("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1",
                        "--max=3")
    assert out.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"
    v2 = cluster.json("hpa", "web")  # the preferred version
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    v1 = cluster.json(V1_HPA, "web")
    assert v1["apiVersion"] == "autoscaling/v1"
    assert (v1["spec"]["targetCPUUtilizationPercentage"], v1["spec"]["minReplicas"],
            v1["spec"]["maxReplicas"]) == (50, 1, 3)
    # working: the controller measures the pods' CPU and says so at both versions
    v1 = wait_until(lambda: (lambda h: h if "currentCPUUtilizationPercentage" in h.get(
        "status", {}) else None)(cluster.json(V1_HPA, "web")), 120, 2,
        "the HPA to report the deployment's CPU")
    assert v1["status"]["currentReplicas"] == 1
    cpu = v1["status"]["currentCPUUtilizationPercentage"]
    assert f"cpu: {cpu}%/50%" in cluster.kubectl("get", "hpa", "web")
    assert condition(cluster.json("hpa", "web"), "ScalingActive")


def test_daemonset_on_both_nodes_with_rollout_status(cluster):
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                       "terminationGracePeriodSeconds": 1,
                       "containers": [{"name": "httpd", "image": IMAGE}]}}}}
    assert cluster.kubectl("apply", "-f", "-", stdin=json.dumps(ds)).strip() == \
        "daemonset.apps/agent created"
    out = cluster.kubectl("rollout", "status", "daemonset/agent", "--timeout=120s")
    assert 'daemon set "agent" successfully rolled out' in out
    pods = cluster.json("pods", "-l", "app=agent")["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["n1", "n2"]
    assert all(p["status"]["phase"] == "Running" for p in pods)
    row = cluster.kubectl("get", "ds", "agent").splitlines()[1].split()
    assert row[1:6] == ["2", "2", "2", "2", "2"]
