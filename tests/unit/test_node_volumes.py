"""API volumes on the node: written before the sandbox, kept current, on tmpfs
where they hold secrets, and a missing source reported as FailedMount."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from node import podspec
from node.agent import Agent, AgentConfig
from node.registration import NodeConfig
from node.testing import FakeApi, FakeMounter, FakeRuntime, make_pod
from tests.support import wait_until

from .test_node_agent import Clock, sync


@pytest.fixture
def env(tmp_path):
    api = FakeApi()
    api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                "spec": {"podCIDR": "10.244.7.0/24"}})
    clock = Clock()
    rt = FakeRuntime(clock)
    mounter = FakeMounter()
    cfg = AgentConfig(node=NodeConfig("n1", "10.250.0.11", 0), data_dir=str(tmp_path),
                      manage_network=False, serve_logs=False, run_proxy=False,
                      heartbeat_period=0.05, pod_relist_period=0,
                      volume_refresh_period=0)  # every pass looks at the sources
    agent = Agent(cfg, api, rt, clock=clock, mounter=mounter)  # type: ignore[arg-type]
    assert agent.start()
    yield api, rt, agent, mounter, tmp_path
    agent.stop()
    agent.shutdown()


def add_pod(api: FakeApi, volumes: list, mounts: list) -> dict:
    return api.create(make_pod("web", "n1", [{"name": "app", "image": "busybox:test",
                                              "volumeMounts": mounts}],
                               terminationGracePeriodSeconds=0, volumes=volumes))


def app_binds(rt: FakeRuntime, uid: str) -> list[str]:
    return rt.specs[rt.app(uid, "app").id].binds


def test_configmap_files_are_written_bound_read_only_and_follow_changes(env):
    api, rt, agent, mounter, data = env
    api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                "data": {"app.conf": "v1"}})
    uid = add_pod(api, [{"name": "conf", "configMap": {"name": "cfg"}}],
                  [{"name": "conf", "mountPath": "/etc/app"}])["metadata"]["uid"]
    sync(agent)
    path = podspec.api_volume_path(str(data), uid, "configMap", "conf")
    assert app_binds(rt, uid) == [f"{path}:/etc/app:ro"]
    assert Path(os.path.join(path, "app.conf")).read_text() == "v1"
    assert mounter.mounts == {}  # a configMap is not a secret: on disk like kubelet's
    cm = api.get("ConfigMap", "cfg")
    cm["data"] = {"app.conf": "v2"}
    api.update(cm)
    sync(agent)
    assert Path(os.path.join(path, "app.conf")).read_text() == "v2"


def test_a_missing_source_keeps_the_pod_creating_with_a_failed_mount_event(env):
    api, rt, agent, _, _ = env
    uid = add_pod(api, [{"name": "creds", "secret": {"secretName": "db"}}],
                  [{"name": "creds", "mountPath": "/creds"}])["metadata"]["uid"]
    sync(agent)
    sync(agent)
    pod = api.pod("web")
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ContainerCreating" and 'secret "db" not found' in \
        waiting["message"]
    assert rt.list_containers({podspec.LABEL_POD_UID: uid}) == []  # not even a sandbox

    def pod_events() -> list[dict]:  # written by the agent's event thread (node.events)
        return [e for (k, _, _), e in list(api.objects.items())
                if k == "Event" and e["involvedObject"]["kind"] == "Pod"]
    events = wait_until(pod_events, 10, what="the FailedMount event")
    assert [e["reason"] for e in events] == ["FailedMount"], events  # repeats: one Event
    assert events[0]["reason"] == "FailedMount" and events[0]["type"] == "Warning"
    assert 'volume "creds"' in events[0]["message"] and '"db"' in events[0]["message"]
    assert events[0]["involvedObject"]["uid"] == uid
    api.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                "data": {"pw": base64.b64encode(b"s3cret").decode()}})
    sync(agent)
    assert rt.app(uid, "app").running


def test_secret_volumes_are_on_tmpfs_and_unmounted_when_the_pod_goes(env):
    api, rt, agent, mounter, data = env
    api.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                "data": {"pw": base64.b64encode(b"s3cret").decode()}})
    uid = add_pod(api, [{"name": "creds", "secret": {"secretName": "db", "defaultMode": 0o400}},
                        {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}],
                  [{"name": "creds", "mountPath": "/creds"},
                   {"name": "mem", "mountPath": "/mem"}])["metadata"]["uid"]
    sync(agent)
    secret = podspec.api_volume_path(str(data), uid, "secret", "creds")
    mem = podspec.empty_dir_path(str(data), uid, "mem")
    assert mounter.mounts == {secret: None, mem: 2**20}
    pw = os.path.join(secret, "pw")
    assert Path(pw).read_text() == "s3cret" and os.stat(pw).st_mode & 0o777 == 0o400
    api.delete("Pod", "web")
    sync(agent)
    sync(agent)
    assert sorted(mounter.unmounted) == sorted([secret, mem])
    assert not os.path.exists(podspec.pod_dir(str(data), uid))


def test_a_secret_volume_is_never_written_where_no_tmpfs_is(env):
    api, rt, agent, mounter, data = env
    api.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                "data": {"pw": base64.b64encode(b"s3cret").decode()}})
    uid = add_pod(api, [{"name": "creds", "secret": {"secretName": "db"}}],
                  [{"name": "creds", "mountPath": "/creds"}])["metadata"]["uid"]
    sync(agent)
    secret = podspec.api_volume_path(str(data), uid, "secret", "creds")
    mounter.mounts.clear()  # e.g. the node rebooted under a running pod
    s = api.get("Secret", "db")
    s["data"] = {"pw": base64.b64encode(b"new").decode()}
    api.update(s)
    sync(agent)
    assert Path(os.path.join(secret, "pw")).read_text() == "s3cret"


def test_downward_api_labels_follow_the_pod(env):
    api, rt, agent, _, data = env
    uid = add_pod(api, [{"name": "info", "downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}],
        [{"name": "info", "mountPath": "/info"}])["metadata"]["uid"]
    sync(agent)
    path = os.path.join(podspec.api_volume_path(str(data), uid, "downwardAPI", "info"), "labels")
    assert Path(path).read_text() == ""
    pod = api.get("Pod", "web")
    pod["metadata"]["labels"] = {"tier": "db"}
    api.update(pod)
    sync(agent)
    assert Path(path).read_text() == 'tier="db"'


def bound_claim(api: FakeApi, pv_path: str, local_path: bool) -> None:
    ann = {"pv.kubernetes.io/provisioned-by": "coxswain.io/local-path"} if local_path else {}
    source = {"local": {"path": pv_path}} if local_path else {"hostPath": {"path": pv_path}}
    api.create({"apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": "pv1", "annotations": ann},
                "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                         **source}})
    api.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {"volumeName": "pv1", "accessModes": ["ReadWriteOnce"]},
                "status": {"phase": "Bound"}})


def test_a_claim_is_bound_through_a_link_to_its_volume_made_on_first_use(env):
    api, rt, agent, _, data = env
    uid = add_pod(api, [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
                  [{"name": "d", "mountPath": "/data"}])["metadata"]["uid"]
    sync(agent)
    waiting = api.pod("web")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert 'persistentvolumeclaim "data" not found' in waiting["message"]
    target = os.path.join(agent.local_path_root, "pv1")
    bound_claim(api, target, local_path=True)
    sync(agent)
    assert rt.app(uid, "app").running
    link = podspec.claim_link_path(str(data), uid, "d")
    assert app_binds(rt, uid) == [f"{link}:/data"]
    assert os.readlink(link) == target and os.path.isdir(target)
    Path(target, "kept").write_text("x")
    api.delete("Pod", "web")
    for _ in range(3):
        sync(agent)
    assert not os.path.lexists(link)
    assert Path(target, "kept").read_text() == "x", "the volume outlives the pod"


def test_a_static_volume_must_exist_on_the_node(env, tmp_path):
    api, rt, agent, _, _ = env
    bound_claim(api, str(tmp_path / "absent"), local_path=False)
    add_pod(api, [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
            [{"name": "d", "mountPath": "/data"}])
    sync(agent)
    waiting = api.pod("web")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert "is not a directory on this node" in waiting["message"]


def test_directories_of_deleted_local_path_volumes_are_removed(env):
    from node.localpath import reclaim_once

    api, _, agent, _, _ = env
    root = agent.local_path_root
    node = api.get("Node", "n1", None)  # the provisioner learns the root from the Node
    assert node["metadata"]["annotations"]["storage.coxswain.io/local-path-root"] == root
    bound_claim(api, os.path.join(root, "pv1"), local_path=True)
    os.makedirs(os.path.join(root, "pv1"))
    os.makedirs(os.path.join(root, "pvc-gone"))
    assert reclaim_once(api, root) == [os.path.join(root, "pvc-gone")]  # type: ignore[arg-type]
    assert sorted(os.listdir(root)) == ["pv1"]
