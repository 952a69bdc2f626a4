"""Jobs, Indexed Jobs and DaemonSets on a whole cluster (`cox cluster up`:
3 masters, 2 nodes), driven through the `cox` CLI as a user would.

Uses its own prefix (``cxwl``), subnet, CIDRs and ports, so it runs beside
other clusters on the machine.
"""

from __future__ import annotations

import ipaddress
import json

import pytest

from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "cxwl"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.16.0/24", "--cluster-cidr", "10.244.220.0/22",
         "--service-cidr", "10.96.220.0/24", "--api-port", "12243", "--raft-port", "12201"]
IMAGE = "coxswain/demo:latest"


class Cluster(harness.Cluster):
    def pods(self, selector: str) -> list[dict]:
        return self.json("get", "pods", "-l", selector)["items"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"), FLAGS)
    with harness.running(c, harness.no_netns):
        yield c


def job(name: str, script: str, **spec) -> dict:
    tmpl_spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "work", "image": IMAGE, "imagePullPolicy": "Never",
                                 "command": ["/bin/sh", "-c", script]}],
                 **spec.pop("pod", {})}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": tmpl_spec}, **spec}}


def condition(obj: dict, ctype: str) -> bool:
    return any(c["type"] == ctype and c["status"] == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def test_job_of_five_completions_retries_failed_pods(cluster, tmp_path):
    # Pods share the host's file system through a hostPath: the first pod to
    # run fails (and leaves a mark), the others succeed. Pod Security allows a
    # hostPath only in a privileged namespace, for the Job controller's pods too.
    mark = tmp_path / "marks"
    script = "if [ -e /marks/failed ]; then exit 0; fi; touch /marks/failed; exit 3"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "hostjobs", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}})
    out = cluster.cox("apply", "-n", "hostjobs", "-f", "-", input=json.dumps(job(
        "five", script, completions=5, parallelism=2, backoffLimit=4, pod={
        "volumes": [{"name": "marks", "hostPath": {"path": str(mark),
                                                   "type": "DirectoryOrCreate"}}],
        "containers": [{"name": "work", "image": IMAGE, "imagePullPolicy": "Never",
                        "command": ["/bin/sh", "-c", script],
                        "volumeMounts": [{"name": "marks", "mountPath": "/marks"}]}]})))
    assert "job.batch/five created" in out
    done = wait_until(lambda: (lambda j: j if condition(j, "Complete") else None)(
        cluster.json("get", "job", "five", "-n", "hostjobs")), 180, 1, "job five to complete")
    st = done["status"]
    assert st["succeeded"] == 5 and st["failed"] >= 1, st
    pods = cluster.json("get", "pods", "-n", "hostjobs", "-l",
                        "batch.kubernetes.io/job-name=five")["items"]
    phases = [p["status"]["phase"] for p in pods]
    assert phases.count("Succeeded") == 5 and phases.count("Failed") == st["failed"], phases
    assert all(not p["metadata"].get("finalizers") for p in pods)  # all counted
    table = cluster.cox("get", "jobs", "-n", "hostjobs")
    header, row = table.splitlines()[0].split(), next(
        line.split() for line in table.splitlines() if line.startswith("five "))
    assert header == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row[1:3] == ["Complete", "5/5"]


def test_indexed_job_gives_each_pod_its_index(cluster):
    cluster.apply(job("idx", "echo index=$JOB_COMPLETION_INDEX", completions=3, parallelism=3,
                      completionMode="Indexed"))
    done = wait_until(lambda: (lambda j: j if condition(j, "Complete") else None)(
        cluster.json("get", "job", "idx")), 120, 1, "job idx to complete")
    assert done["status"]["completedIndexes"] == "0-2" and done["status"]["succeeded"] == 3
    seen = set()
    for pod in cluster.pods("batch.kubernetes.io/job-name=idx"):
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert pod["metadata"]["name"].startswith(f"idx-{index}-")
        logs = cluster.cox("logs", pod["metadata"]["name"])
        assert logs.strip() == f"index={index}"
        seen.add(index)
    assert seen == {"0", "1", "2"}


def test_daemonset_runs_one_pod_on_each_node_then_on_a_node_that_joins(cluster):
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                       "terminationGracePeriodSeconds": 1,
                       "containers": [{"name": "httpd", "image": IMAGE,
                                       "imagePullPolicy": "Never"}]}}}}
    assert "daemonset.apps/agent created" in cluster.apply(ds)

    def ready_nodes() -> list[str]:
        return sorted(p["spec"].get("nodeName", "") for p in cluster.pods("app=agent")
                      if any(c["type"] == "Ready" and c["status"] == "True"
                             for c in p["status"].get("conditions") or []))
    wait_until(lambda: ready_nodes() == ["n1", "n2"], 120, 1, "a ready agent pod on each node")
    table = cluster.cox("get", "ds")
    assert table.splitlines()[0].split()[:6] == ["NAME", "DESIRED", "CURRENT", "READY",
                                                 "UP-TO-DATE", "AVAILABLE"]
    assert wait_until(lambda: cluster.cox("get", "ds", "agent").splitlines()[1].split()[1:4]
                      == ["2", "2", "2"], 30, 1, "the DaemonSet status")
    cluster.up("--nodes", "3")  # a third node joins the running cluster
    wait_until(lambda: ready_nodes() == ["n1", "n2", "n3"], 180, 1, "an agent pod on n3 too")


def test_pods_resolve_services_by_name(cluster):
    # The DaemonSet's pods (the test above) answer; a ClusterIP and a headless Service.
    for name, ip in (("web", None), ("peers", "None")):
        spec: dict = {"selector": {"app": "agent"}, "ports": [
            {"name": "http", "port": 80, "targetPort": 8080}]}
        if ip:
            spec["clusterIP"] = ip
        cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                       "spec": spec})
    cip = cluster.json("get", "svc", "web")["spec"]["clusterIP"]
    pods = cluster.pods("app=agent")
    pod = next(p for p in pods if p["spec"]["nodeName"] == "n1")
    conf = cluster.docker_exec(pod, "httpd", "cat", "/etc/resolv.conf").stdout
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in conf, conf
    assert "ndots:5" in conf, conf

    def lookup(name: str) -> str:
        # busybox's nslookup asks every search domain and exits 1 if any says
        # NXDOMAIN; the answer that matters is in its output. (It applies the
        # search path only to names without a dot.)
        return cluster.docker_exec(pod, "httpd", "nslookup", name).stdout

    def resolves(name: str, ip: str) -> bool:
        done = cluster.docker_exec(pod, "httpd", "nslookup", name)
        if ip not in done.stdout:  # reported at the deadline
            raise AssertionError(f"nslookup {name}: {done.stdout!r} {done.stderr!r}; the "
                                 f"node's server says: {ask_node_dns(cluster, 'n1', name)}")
        return True
    for name in ("web", "web.default.svc.cluster.local"):
        wait_until(lambda n=name: resolves(n, cip), 30, 1, f"{name} to resolve to {cip}")
    pod_ips = {p["status"]["podIP"] for p in pods}
    out = wait_until(lambda: (lambda o: o if all(ip in o for ip in pod_ips) else None)(
        lookup("peers.default.svc.cluster.local")), 30, 1, "the headless Service's pods")
    assert cip not in out
    outside = cluster.docker_exec(pod, "httpd", "nslookup", "example.com")
    assert outside.returncode != 0 and "REFUSED" in outside.stdout, outside.stdout


ASK = r"""
import sys, dns.message, dns.query
try:
    print(dns.query.udp(dns.message.make_query(sys.argv[2], "A"), sys.argv[1],
                        timeout=2).to_text().replace("\n", " | "))
except Exception as e:
    print(repr(e))
"""


def ask_node_dns(cluster: Cluster, node: str, name: str) -> str:
    """A node's cluster DNS server's own answer for a name, asked from the node."""
    fqdn = name if "." in name else f"{name}.default.svc.cluster.local"
    cidr = cluster.json("get", "node", node)["spec"]["podCIDR"]
    server = str(ipaddress.ip_network(cidr)[1])  # the pod network's gateway
    return cluster.in_netns(node, ASK, server, fqdn).strip()


def test_cronjob_prints_its_columns(cluster):
    cluster.apply({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
                   "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Paris",
                            "jobTemplate": {"spec": job("x", "true")["spec"]}}})
    lines = cluster.cox("get", "cronjobs").splitlines()
    assert lines[0].split()[:4] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND"]
    assert "0 3 * * *" in lines[1] and "Europe/Paris" in lines[1]


def test_hpa_scales_a_cpu_burning_deployment_out_and_back_in(cluster):
    # Each pod burns CPU for its first 40 s (up to its 200m limit: 200 % of its
    # request), then idles; the HPA targets 50 %.
    burn = "end=$(( $(date +%s) + 40 )); while [ $(date +%s) -lt $end ]; do :; done; sleep 3600"
    cluster.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burn"},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "burn"}},
                            "template": {"metadata": {"labels": {"app": "burn"}}, "spec": {
                                "terminationGracePeriodSeconds": 1,
                                "containers": [{"name": "burn", "image": IMAGE,
                                                "imagePullPolicy": "Never",
                                                "command": ["/bin/sh", "-c", burn],
                                                "resources": {"requests": {"cpu": "100m"},
                                                              "limits": {"cpu": "200m"}}}]}}}})
    cluster.apply({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                   "metadata": {"name": "burn"},
                   "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                               "name": "burn"},
                            "minReplicas": 1, "maxReplicas": 3,
                            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                                "type": "Utilization", "averageUtilization": 50}}}],
                            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 15}}}})

    def replicas() -> int:
        return cluster.json("get", "deploy", "burn")["spec"]["replicas"]
    wait_until(lambda: replicas() > 1, 60, 1, "the HPA to scale the deployment out")
    line = next(x for x in cluster.cox("get", "hpa").splitlines() if x.startswith("burn "))
    assert "Deployment/burn" in line and "/50%" in line
    wait_until(lambda: replicas() == 1, 150, 2, "the HPA to scale back in once the load stops")
    hpa = cluster.json("get", "hpa", "burn")
    assert hpa["status"]["desiredReplicas"] == 1 and hpa["status"]["lastScaleTime"]
