"""The batch and scaling workloads of issue 12 and kubectl's typed commands
through the real ``kubectl`` 1.32 against ``cox cluster up`` (1 master, 2
nodes), as a user would: a ``kind: List`` manifest applied with client-side
validation (issue 15), ``kubectl create job``, an Indexed Job of 5
completions with parallelism 2 whose odd indexes fail once and are retried,
``kubectl create cronjob``, ``kubectl autoscale`` (an autoscaling/v1 HPA, read
at v1 and v2), a DaemonSet on both nodes with ``kubectl rollout status``,
``kubectl create namespace|configmap|secret generic`` and ``kubectl drain``.

kubectl 1.32's typed commands (``create job|cronjob|deployment|namespace|…``,
``autoscale``, ``create token``, ``drain --disable-eviction``) send protobuf
bodies (coxapi/protobody.py reads them); the rest it sends as JSON. The cox
e2e of the same workloads is test_cluster_batch.py.

Uses its own prefix (``cxcp``), subnet, CIDRs and ports.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator

import pytest
import yaml

from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "cxcp"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.25.0/24", "--cluster-cidr", "10.244.244.0/22",
         "--service-cidr", "10.96.244.0/24", "--api-port", "13243", "--raft-port", "13201",
         "--masters", "1", "--nodes", "2"]
# the demo image is on the nodes, not in a registry: a tag other than :latest
# makes kubectl's generators default to IfNotPresent
IMAGE = f"coxswain/demo:{PREFIX}"
V1_HPA = "horizontalpodautoscalers.v1.autoscaling"  # kubectl drops the version of a short name
KUBECTL = harness.kubectl_132()


class Cluster(harness.Cluster):
    def attempt(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """kubectl, its exit code not checked."""
        return subprocess.run([*self.argv("kubectl"), *args], capture_output=True, text=True,
                              timeout=120, check=False, input=stdin)

    def get(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def tag_image_on_nodes(self) -> None:
        for node in ("n1", "n2"):
            self.docker(node, "tag", "coxswain/demo:latest", IMAGE)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    if KUBECTL is None:
        pytest.skip("no kubectl binary (./dev installs one)")
    c = Cluster(tmp_path_factory.mktemp("kubectl-workloads"), FLAGS, kubectl=KUBECTL)
    with harness.running(c, harness.no_processes):
        c.tag_image_on_nodes()
        yield c


def condition(obj: dict, ctype: str) -> bool:
    return any(c["type"] == ctype and c["status"] == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def completed(cluster: Cluster, job: str, ns: str = "default") -> dict | None:
    j = cluster.get("job", job, "-n", ns)
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
    out = cluster.kubectl("apply", "-f", "-", input=list_manifest())
    assert out.split("\n")[:3] == ["configmap/l-cm created", "service/l-svc created",
                                   "deployment.apps/l-dep created"], out
    assert cluster.get("configmap", "l-cm")["data"] == {"a": "1"}
    # kubectl checks every item against /openapi/v2 (protobuf) before sending any
    bad = cluster.attempt("apply", "-f", "-", stdin=list_manifest("imagePulPolicy"))
    assert bad.returncode != 0
    assert 'unknown field "imagePulPolicy" in io.k8s.api.core.v1.Container' in bad.stderr
    assert "configured" not in bad.stdout  # nothing was sent
    cluster.kubectl("delete", "-f", "-", input=list_manifest())
    out = cluster.kubectl("create", "-f", "-", input=list_manifest())
    assert "deployment.apps/l-dep created" in out
    assert cluster.get("service", "l-svc")["spec"]["ports"][0]["targetPort"] == 8080
    cluster.kubectl("delete", "-f", "-", input=list_manifest())


# ---- issue 12: Jobs, CronJobs, HPA, DaemonSets -----------------------------------

def test_kubectl_create_job_runs_to_completion(cluster):
    out = cluster.kubectl("create", "job", "hello", f"--image={IMAGE}", "--", "/bin/sh", "-c",
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
    cluster.kubectl("apply", "-f", "-", input=json.dumps({
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
    assert cluster.kubectl("apply", "-n", "kjobs", "-f", "-", input=json.dumps(job)).strip() == \
        "job.batch/five created"
    cluster.kubectl("wait", "-n", "kjobs", "--for=condition=Complete", "job/five",
                    "--timeout=150s")
    st = cluster.get("job", "five", "-n", "kjobs")["status"]
    assert (st["succeeded"], st["failed"], st["completedIndexes"]) == (5, 2, "0-4"), st
    pods = cluster.get("pods", "-n", "kjobs", "-l", "batch.kubernetes.io/job-name=five")["items"]
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
    out = cluster.kubectl("create", "cronjob", "tick", f"--image={IMAGE}",
                          "--schedule=*/5 * * * *", "--", "/bin/sh", "-c", "date")
    assert out.strip() == "cronjob.batch/tick created"
    cj = cluster.get("cronjob", "tick")
    assert cj["spec"]["schedule"] == "*/5 * * * *"
    assert cj["spec"]["concurrencyPolicy"] == "Allow"  # defaulted
    container = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["command"]) == (IMAGE, ["/bin/sh", "-c", "date"])
    header, row = (line.split(maxsplit=5) for line in
                   cluster.kubectl("get", "cronjob", "tick").splitlines()[:2])
    assert header[:2] == ["NAME", "SCHEDULE"] and row[0] == "tick"
    cluster.kubectl("delete", "cronjob", "tick")


def test_kubectl_autoscale_makes_a_working_hpa_read_at_v1_and_v2(cluster):
    cluster.kubectl("create", "deployment", "web", f"--image={IMAGE}")
    cluster.kubectl("set", "resources", "deployment", "web", "--requests=cpu=100m")
    out = cluster.kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1",
                          "--max=3")
    assert out.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"
    v2 = cluster.get("hpa", "web")  # the preferred version
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    v1 = cluster.get(V1_HPA, "web")
    assert v1["apiVersion"] == "autoscaling/v1"
    assert (v1["spec"]["targetCPUUtilizationPercentage"], v1["spec"]["minReplicas"],
            v1["spec"]["maxReplicas"]) == (50, 1, 3)
    # working: the controller measures the pods' CPU and says so at both versions
    v1 = wait_until(lambda: (lambda h: h if "currentCPUUtilizationPercentage" in h.get(
        "status", {}) else None)(cluster.get(V1_HPA, "web")), 120, 2,
        "the HPA to report the deployment's CPU")
    assert v1["status"]["currentReplicas"] == 1
    cpu = v1["status"]["currentCPUUtilizationPercentage"]
    assert f"cpu: {cpu}%/50%" in cluster.kubectl("get", "hpa", "web")
    assert condition(cluster.get("hpa", "web"), "ScalingActive")


def test_daemonset_on_both_nodes_with_rollout_status(cluster):
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                       "terminationGracePeriodSeconds": 1,
                       "containers": [{"name": "httpd", "image": IMAGE}]}}}}
    assert cluster.kubectl("apply", "-f", "-", input=json.dumps(ds)).strip() == \
        "daemonset.apps/agent created"
    out = cluster.kubectl("rollout", "status", "daemonset/agent", "--timeout=120s")
    assert 'daemon set "agent" successfully rolled out' in out
    pods = cluster.get("pods", "-l", "app=agent")["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["n1", "n2"]
    assert all(p["status"]["phase"] == "Running" for p in pods)
    row = cluster.kubectl("get", "ds", "agent").splitlines()[1].split()
    assert row[1:6] == ["2", "2", "2", "2", "2"]


# ---- issue 15: kubectl's typed commands send protobuf ------------------------------

def test_kubectl_create_namespace_configmap_and_secret(cluster):
    assert cluster.kubectl("create", "namespace", "typed").strip() == "namespace/typed created"
    assert cluster.get("namespace", "typed")["status"]["phase"] == "Active"
    cluster.kubectl("create", "configmap", "settings", "-n", "typed", "--from-literal=mode=fast",
                    "--from-literal=empty=")
    assert cluster.get("configmap", "settings", "-n", "typed")["data"] == {
        "mode": "fast", "empty": ""}
    cluster.kubectl("create", "secret", "generic", "creds", "-n", "typed",
                    "--from-literal=user=admin", "--from-literal=password=s3cr3t")
    secret = cluster.get("secret", "creds", "-n", "typed")
    assert secret["type"] == "Opaque"
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "user": "admin", "password": "s3cr3t"}
    assert cluster.kubectl("create", "token", "default", "-n", "typed").count(".") == 2  # a JWT


def pods_of(cluster: Cluster, app: str) -> list[dict]:
    return [p for p in cluster.get("pods", "-l", f"app={app}")["items"]
            if not p["metadata"].get("deletionTimestamp")]


def running_on(cluster: Cluster, app: str, node: str, count: int) -> list[dict] | None:
    pods = pods_of(cluster, app)
    ok = len(pods) == count and all(
        p["spec"].get("nodeName") == node and p["status"].get("phase") == "Running" for p in pods)
    return pods if ok else None


def daemon_pods_on(cluster: Cluster, node: str) -> list[str]:
    pods = cluster.get("pods", "-A", "--field-selector", f"spec.nodeName={node}")["items"]
    return sorted(p["metadata"]["name"] for p in pods
                  if any(o["kind"] == "DaemonSet" for o in p["metadata"].get("ownerReferences", [])))


def test_kubectl_drain_moves_the_pods_off_a_node(cluster):
    """Drain with evictions (JSON), then the other node with deletes whose
    options are protobuf; the DaemonSet's pods stay, an emptyDir is no bar."""
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "mover"},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "mover"}},
                    "template": {"metadata": {"labels": {"app": "mover"}}, "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "volumes": [{"name": "scratch", "emptyDir": {}}],
                        "containers": [{"name": "httpd", "image": IMAGE, "volumeMounts": [
                            {"name": "scratch", "mountPath": "/scratch"}]}]}}}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(dep))
    cluster.kubectl("rollout", "status", "deployment/mover", "--timeout=120s")
    daemons_on_n1 = daemon_pods_on(cluster, "n1")
    out = cluster.kubectl("drain", "n1", "--ignore-daemonsets", "--delete-emptydir-data",
                          "--timeout=120s")
    assert "node/n1 drained" in out, out
    assert cluster.get("node", "n1")["spec"]["unschedulable"] is True
    wait_until(lambda: running_on(cluster, "mover", "n2", 2), 120, 1, "mover's pods on n2")
    assert daemon_pods_on(cluster, "n1") == daemons_on_n1  # --ignore-daemonsets left them

    cluster.kubectl("uncordon", "n1")
    out = cluster.kubectl("drain", "n2", "--ignore-daemonsets", "--delete-emptydir-data",
                          "--disable-eviction", "--grace-period=1", "--timeout=120s")
    assert "node/n2 drained" in out, out
    wait_until(lambda: running_on(cluster, "mover", "n1", 2), 120, 1, "mover's pods on n1")
    cluster.kubectl("uncordon", "n2")
    assert not cluster.get("node", "n2")["spec"].get("unschedulable")
