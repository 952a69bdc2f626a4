"""Configuration and storage in pods on a whole cluster (`cox cluster up`).

ConfigMap, Secret and downwardAPI volumes as the containers see them (files,
items, a subPath mount, a change reaching a running container, the Secret on
tmpfs); a claim provisioned by the local-path provisioner on first use, whose
data outlives its pod and which is protected while in use; and a StatefulSet's
ordered start and scale down and up, each replica keeping its claim's data
and reachable by its DNS name through a headless Service; and a pod evicted
for outgrowing its emptyDir's ``sizeLimit``.

Uses its own prefix (``cxst``), subnet, CIDRs and ports, so it runs beside
other local clusters.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "cxst"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.17.0/24", "--cluster-cidr", "10.244.224.0/22",
         "--service-cidr", "10.96.224.0/24", "--api-port", "12343", "--raft-port", "12301"]
IMAGE = "coxswain/demo:latest"
# docs/storage.md promises about 3 s; the deadline leaves room for a busy machine.
CHANGE_DEADLINE = 20.0
KUBECTL = harness.kubectl_132()  # kubectl 1.32: exec over WebSocket


class Cluster(harness.Cluster):
    def pod(self, name: str) -> dict:
        return self.json("get", "pod", name)

    def running(self, name: str) -> dict | None:
        pod = self.json("get", "pods")["items"]
        got = next((p for p in pod if p["metadata"]["name"] == name), None)
        if got and got.get("status", {}).get("phase") == "Running":
            return got
        return None

    def exec(self, pod: dict, script: str, container: str = "app") -> str:
        done = self.docker_exec(pod, container, "sh", "-c", script)
        if done.returncode != 0:
            raise AssertionError(f"docker exec {script!r}: {done.stderr}")
        return done.stdout


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod.get("status", {}).get("conditions") or [])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"), FLAGS, kubectl=KUBECTL)
    with harness.running(c, harness.no_processes, harness.no_mounts):
        yield c


def configmap(data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app-config", "namespace": "default"}, "data": data}


def sleeper(name: str, volumes: list[dict], mounts: list[dict], **meta) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", **meta},
            "spec": {"terminationGracePeriodSeconds": 1, "volumes": volumes,
                     "containers": [{"name": "app", "image": IMAGE, "imagePullPolicy": "Never",
                                     "command": ["sleep", "100000"], "volumeMounts": mounts}]}}


def vols_pod(tier: str) -> dict:
    return sleeper(
        "vols",
        [{"name": "conf", "configMap": {"name": "app-config",
                                        "items": [{"key": "app.conf", "path": "conf/app.conf"}]}},
         {"name": "whole", "configMap": {"name": "app-config"}},
         {"name": "creds", "secret": {"secretName": "db", "defaultMode": 0o400}},
         {"name": "info", "downwardAPI": {"items": [
             {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}],
        [{"name": "conf", "mountPath": "/etc/app"},
         {"name": "whole", "mountPath": "/etc/level", "subPath": "level"},
         {"name": "creds", "mountPath": "/etc/creds"},
         {"name": "info", "mountPath": "/etc/info"}],
        labels={"app": "vols", "tier": tier})


@pytest.fixture(scope="module")
def volumes_pod(cluster):
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "db", "namespace": "default"},
              "stringData": {"password": "s3cr3t"}}
    pod = vols_pod("config")
    cluster.apply(configmap({"app.conf": "v1", "level": "debug", "unused": "x"}), secret, pod)
    return wait_until(lambda: cluster.running("vols"), 120, 0.5, "pod vols to run")


def test_configmap_files_with_items_and_a_subpath(cluster, volumes_pod):
    out = cluster.exec(volumes_pod, "cat /etc/app/conf/app.conf; echo; ls /etc/app; "
                                    "cat /etc/level")
    assert out.split() == ["v1", "conf", "debug"], out


def test_configmap_change_reaches_the_running_container_but_not_the_subpath(cluster,
                                                                           volumes_pod):
    cluster.apply(configmap({"app.conf": "v2", "level": "info", "unused": "x"}))
    start = time.monotonic()
    wait_until(lambda: cluster.exec(volumes_pod, "cat /etc/app/conf/app.conf") == "v2",
               CHANGE_DEADLINE, 0.2, "the new ConfigMap content in the container")
    print(f"\nConfigMap change visible in the container after {time.monotonic() - start:.1f}s")
    assert cluster.exec(volumes_pod, "cat /etc/level") == "debug"  # subPath: as started


def test_secret_volume_is_a_tmpfs_on_the_node(cluster, volumes_pod):
    assert cluster.exec(volumes_pod, "cat /etc/creds/password") == "s3cr3t"
    mode = cluster.exec(volumes_pod, "stat -L -c %a /etc/creds/password").strip()
    assert mode == "400"
    assert cluster.exec(volumes_pod, "stat -f -c %T /etc/creds").strip() == "tmpfs"
    # On the node: the volume's directory under the agent's data dir is a tmpfs.
    node, uid = volumes_pod["spec"]["nodeName"], volumes_pod["metadata"]["uid"]
    path = cluster.dir / node / "pods" / uid / "volumes" / "secret" / "creds"
    out = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--mountpoint", str(path)],
                         capture_output=True, text=True, check=False).stdout
    assert out.split() == ["tmpfs"], out
    # The config map volume is not (as in kubelet).
    conf = cluster.dir / node / "pods" / uid / "volumes" / "configmap" / "conf"
    assert not subprocess.run(["findmnt", "--mountpoint", str(conf)],
                              capture_output=True).stdout


def test_downward_api_labels_follow_the_pod(cluster, volumes_pod):
    out = cluster.exec(volumes_pod, "cat /etc/info/labels")
    assert sorted(out.splitlines()) == ['app="vols"', 'tier="config"'], out
    assert "configured" in cluster.apply(vols_pod("data"))
    wait_until(lambda: 'tier="data"' in cluster.exec(volumes_pod, "cat /etc/info/labels"),
               CHANGE_DEADLINE, 0.2, "the new label in the downwardAPI file")


def statefulset(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "serviceName": "web",
                     "selector": {"matchLabels": {"app": "sts"}},
                     "template": {"metadata": {"labels": {"app": "sts"}}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "app", "image": IMAGE,
                                         "imagePullPolicy": "Never",
                                         "volumeMounts": [{"name": "data",
                                                           "mountPath": "/data"}],
                                         "readinessProbe": {"httpGet": {"path": "/",
                                                                        "port": 8080},
                                                            "periodSeconds": 1}}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "64Mi"}}}}]}}


def sts_pods(cluster: Cluster) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in cluster.json("get", "pods", "-l", "app=sts")["items"]}


def wait_ordered(cluster: Cluster, names: list[str], timeout: float) -> None:
    """Wait until every pod of ``names`` is Ready, checking all along that pod
    *i* never exists before pod *i-1* is Ready (OrderedReady)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = sts_pods(cluster)
        for i, name in enumerate(names[1:], start=1):
            if name in pods:
                prev = pods.get(names[i - 1])
                assert prev is not None and ready(prev), f"{name} exists before " \
                    f"{names[i - 1]} is ready: {sorted(pods)}"
        if all(n in pods and ready(pods[n]) for n in names):
            return
        time.sleep(0.2)
    seen = {name: (p["spec"].get("nodeName"), p.get("status")) for name, p in
            sorted(sts_pods(cluster).items())}
    raise AssertionError(f"{names} not ready within {timeout}s: {seen}; "
                         f"events: {cluster.cox('get', 'events')}")


def test_statefulset_starts_in_order_and_scales_down_and_up(cluster):
    cluster.apply(statefulset(3))
    names = ["web-0", "web-1", "web-2"]
    wait_ordered(cluster, names, 180)
    pods = sts_pods(cluster)
    assert sorted(pods) == names
    for name, pod in pods.items():
        assert pod["spec"]["hostname"] == name and pod["spec"]["subdomain"] == "web"
        assert cluster.exec(pod, "hostname").strip() == name

    for name, pod in pods.items():  # each replica writes to its own claim
        cluster.exec(pod, f"echo written-by-{name} > /data/who")
    claims = {c["metadata"]["name"]: c for c in cluster.json("get", "pvc")["items"]}
    assert {"data-web-0", "data-web-1", "data-web-2"} <= set(claims)
    assert all(claims[f"data-web-{i}"]["status"]["phase"] == "Bound" for i in range(3))

    first_uid = pods["web-0"]["metadata"]["uid"]
    cluster.cox("scale", "statefulset/web", "--replicas", "1")
    wait_until(lambda: sorted(sts_pods(cluster)) == ["web-0"], 120, 0.5, "scale down to web-0")
    assert sts_pods(cluster)["web-0"]["metadata"]["uid"] == first_uid

    cluster.cox("scale", "statefulset/web", "--replicas", "3")
    wait_ordered(cluster, names, 180)
    sts = cluster.json("get", "statefulset", "web")
    wait_until(lambda: cluster.json("get", "statefulset", "web")["status"].get("readyReplicas")
               == 3, 60, 0.5, "readyReplicas 3")
    assert sts["spec"]["replicas"] == 3
    pods = sts_pods(cluster)
    for name in names:  # web-1 and web-2 are new pods on their old claims
        assert cluster.exec(pods[name], "cat /data/who").strip() == f"written-by-{name}"

    # The headless Service named by serviceName gives each replica its DNS name.
    cluster.apply({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"clusterIP": "None", "selector": {"app": "sts"},
                            "ports": [{"name": "http", "port": 8080}]}})
    client = pods["web-0"]
    for name in names:
        ip, fqdn = pods[name]["status"]["podIP"], f"{name}.web.default.svc.cluster.local"
        # busybox's nslookup exits 1 if any search domain says NXDOMAIN
        wait_until(lambda f=fqdn, i=ip: i in cluster.exec(client, f"nslookup {f} || true"),
                   30, 1, f"{fqdn} to resolve to {ip}")
        # the short name through the search path, and the replica answering as itself
        assert cluster.exec(client, f"wget -qO- http://{name}.web:8080/").strip() == name


def test_a_pod_outgrowing_its_empty_dir_limit_is_evicted(cluster):
    pod = sleeper("filler", [{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}],
                  [{"name": "scratch", "mountPath": "/scratch"}])
    pod["spec"]["containers"][0]["command"] = [
        "sh", "-c", "dd if=/dev/zero of=/scratch/fill bs=1024 count=2048; sleep 100000"]
    cluster.apply(pod)
    # measured every 10 s (docs/storage.md)
    evicted = wait_until(lambda: (lambda p: p if p["status"].get("phase") == "Failed" else None)(
        cluster.pod("filler")), 120, 1, "the pod to be evicted")
    message = 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'
    assert (evicted["status"]["reason"], evicted["status"]["message"]) == ("Evicted", message)

    def evicted_event() -> bool:
        return any(e["involvedObject"]["name"] == "filler" and e["reason"] == "Evicted"
                   and e["message"] == message for e in cluster.json("get", "events")["items"])
    wait_until(evicted_event, 30, 1, "the Evicted event")
    node = evicted["spec"]["nodeName"]
    wait_until(lambda: not cluster.docker(node, "ps", "-q", "--filter", "name=app_filler"),
               30, 1, "the evicted pod's container to stop")
    cluster.cox("delete", "pod", "filler", "--timeout", "60s", timeout=90)


def claim(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "16Mi"}}}}


def writer() -> dict:
    return sleeper("writer", [{"name": "d", "persistentVolumeClaim": {"claimName": "scratch"}}],
                   [{"name": "d", "mountPath": "/data"}])


def test_default_storage_class_is_local_path(cluster):
    sc = cluster.json("get", "storageclass", "local-path")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert "(default)" in cluster.cox("get", "sc")


def test_claim_provisioned_on_first_use_keeps_data_across_pods_and_is_protected(cluster):
    cluster.apply(claim("scratch"))
    assert cluster.json("get", "pvc", "scratch")["status"]["phase"] == "Pending"
    cluster.apply(writer())
    pod = wait_until(lambda: cluster.running("writer"), 120, 0.5, "writer to run")
    node = pod["spec"]["nodeName"]
    pvc = cluster.json("get", "pvc", "scratch")
    assert pvc["status"]["phase"] == "Bound"
    pv = cluster.json("get", "pv", pvc["spec"]["volumeName"])
    terms = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == [node]
    directory = Path(pv["spec"]["local"]["path"])
    assert directory.parent == cluster.dir / node / "local-path"
    cluster.exec(pod, "echo kept > /data/file")
    assert (directory / "file").read_text() == "kept\n"

    cluster.cox("delete", "pod", "writer", "--timeout", "60s", timeout=90)
    cluster.apply(writer())
    pod = wait_until(lambda: cluster.running("writer"), 120, 0.5, "writer to run again")
    assert pod["spec"]["nodeName"] == node  # where the data is
    assert cluster.exec(pod, "cat /data/file") == "kept\n"

    # In use: deleting the claim only marks it until the pod is gone.
    cluster.cox("delete", "pvc", "scratch", "--no-wait")
    pvc = cluster.json("get", "pvc", "scratch")
    assert pvc["metadata"].get("deletionTimestamp")
    assert "kubernetes.io/pvc-protection" in pvc["metadata"]["finalizers"]
    assert cluster.exec(pod, "cat /data/file") == "kept\n"
    cluster.cox("delete", "pod", "writer", "--timeout", "60s", timeout=90)
    wait_until(lambda: "scratch" not in cluster.cox("get", "pvc"), 60, 0.5, "the claim to go")
    # reclaimPolicy Delete: the volume goes, then its node removes the directory
    wait_until(lambda: pv["metadata"]["name"] not in cluster.cox("get", "pv"), 60, 0.5,
               "the volume to be deleted")
    wait_until(lambda: not directory.exists(), 60, 0.5, "the directory to be removed")


def test_kubectl_drives_a_claim_and_a_configmap_volume(cluster):
    """The same flows through real kubectl (over TLS, no --validate=false)."""
    cm = configmap({"greeting": "hello from kubectl"})
    cm["metadata"]["name"] = "kcfg"
    pod = sleeper("kpod", [{"name": "cfg", "configMap": {"name": "kcfg"}},
                           {"name": "d", "persistentVolumeClaim": {"claimName": "kdata"}}],
                  [{"name": "cfg", "mountPath": "/cfg"}, {"name": "d", "mountPath": "/data"}])
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([cm, claim("kdata"), pod]))
    wait_until(lambda: cluster.kubectl("get", "pod", "kpod", "-o", "jsonpath={.status.phase}")
               == "Running", 120, 0.5, "kpod to run")
    assert cluster.kubectl("get", "pvc", "kdata", "-o", "jsonpath={.status.phase}") == "Bound"
    assert cluster.kubectl("exec", "kpod", "--", "cat", "/cfg/greeting") == "hello from kubectl"
    assert cluster.kubectl("exec", "kpod", "--", "sh", "-c",
                           "echo kept > /data/f && cat /data/f") == "kept\n"
    cluster.kubectl("delete", "pod", "kpod", "--wait=true", "--timeout=90s")
    cluster.kubectl("delete", "pvc", "kdata", "--wait=true", "--timeout=90s")
    assert "kdata" not in cluster.kubectl("get", "pvc")
