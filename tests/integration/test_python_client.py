"""The official ``kubernetes`` Python client (PyPI), unmodified, against real
master processes over HTTPS with the cluster CA: its typed models must decode
what the API answers (nodes with their nodeInfo, pods, Status bodies, watch
events), and its default patch (strategic merge for core kinds) must do what
it does against Kubernetes. Logs are read in the e2e (a hollow node serves none)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client as kclient
from kubernetes import watch as kwatch

from tests.hollow import HollowNodes
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.integration
NODE = "hollow-py"


@dataclass
class Apis:
    core: kclient.CoreV1Api
    apps: kclient.AppsV1Api


@pytest.fixture(scope="module")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apis]:
    tmp = Path(tmp_path_factory.mktemp("pyclient"))
    mc = MasterCluster.create(tmp, n=1)
    nodes = None
    try:
        nodes = HollowNodes([NODE], [m.url for m in mc.masters], mc.token, tmp / "hollow",
                            heartbeat_period=1.0, ca_file=mc.ca_file).start()
        cfg = kclient.Configuration()
        cfg.host = mc.masters[0].url
        cfg.api_key = {"authorization": mc.token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
        cfg.ssl_ca_cert = mc.ca_file
        api = kclient.ApiClient(cfg)
        yield Apis(kclient.CoreV1Api(api), kclient.AppsV1Api(api))
        api.close()
    except BaseException:
        print(mc.logs())
        raise
    finally:
        if nodes is not None:
            nodes.stop()
        mc.stop()


def web_pod(name: str) -> kclient.V1Pod:
    return kclient.V1Pod(
        metadata=kclient.V1ObjectMeta(name=name, labels={"app": name}),
        spec=kclient.V1PodSpec(containers=[kclient.V1Container(
            name="app", image="web:1", ports=[kclient.V1ContainerPort(container_port=80)],
            env=[kclient.V1EnvVar(name="A", value="1")])]))


def decoded_status(answer: object) -> kclient.V1Status:
    """A delete's answer as a V1Status: older clients decode it so, newer
    ones (v37) leave the generic ``object`` a dict; either way it must be a
    Status the typed model takes."""
    if isinstance(answer, kclient.V1Status):
        return answer
    assert isinstance(answer, dict) and answer["kind"] == "Status", answer
    return kclient.V1Status.from_dict(answer)


def test_list_nodes_decodes_the_node_info(apis):
    nodes = wait_until(lambda: [n for n in apis.core.list_node().items
                                if n.status and n.status.node_info], 30, 0.2,
                       "the hollow node registered with its nodeInfo")
    (node,) = nodes
    assert node.metadata.name == NODE
    info = node.status.node_info
    assert info.system_uuid and info.kubelet_version and info.container_runtime_version
    assert {c.type for c in node.status.conditions} >= {"Ready"}


def test_pods_create_read_patch_replace_delete(apis):
    created = apis.core.create_namespaced_pod("default", web_pod("py"))
    assert isinstance(created, kclient.V1Pod) and created.metadata.uid
    running = wait_until(lambda: (p := apis.core.read_namespaced_pod("py", "default"))
                         .status.phase == "Running" and p, 60, 0.2, "the pod Running")
    assert running.spec.node_name == NODE
    assert any(p.metadata.name == "py"
               for p in apis.core.list_namespaced_pod("default", label_selector="app=py").items)
    assert apis.core.list_pod_for_all_namespaces().items

    # The default patch type for a dict body is a strategic merge: the
    # containers merge by name, this one keeps its ports and env.
    patched = apis.core.patch_namespaced_pod("py", "default", {"spec": {"containers": [
        {"name": "app", "image": "web:2"}]}, "metadata": {"labels": {"tier": "x"}}})
    (c,) = patched.spec.containers
    assert c.image == "web:2" and [e.name for e in c.env] == ["A"]
    assert c.ports[0].container_port == 80 and patched.metadata.labels == {"app": "py",
                                                                           "tier": "x"}

    # A replace carries the resourceVersion it read: the node's status write
    # after the image change may come first, so read again on a Conflict (as
    # client-go's RetryOnConflict does).
    def replace() -> kclient.V1Pod | None:
        cur = apis.core.read_namespaced_pod("py", "default")
        cur.metadata.annotations = {"replaced": "yes"}
        try:
            return apis.core.replace_namespaced_pod("py", "default", cur)
        except kclient.exceptions.ApiException as e:
            if e.status != 409:
                raise
            return None
    replaced = wait_until(replace, 30, 0.1, "a replace not overtaken by another write")
    assert replaced.metadata.annotations == {"replaced": "yes"}
    assert replaced.spec.containers[0].image == "web:2"

    gone = apis.core.delete_namespaced_pod("py", "default", grace_period_seconds=0)
    assert isinstance(gone, kclient.V1Pod) and gone.metadata.name == "py"
    wait_until(lambda: not apis.core.list_namespaced_pod(
        "default", field_selector="metadata.name=py").items, 30, 0.2, "the pod gone")


def test_configmaps_and_a_deployment_round_trip(apis):
    cm = kclient.V1ConfigMap(metadata=kclient.V1ObjectMeta(name="cfg"), data={"a": "1"})
    apis.core.create_namespaced_config_map("default", cm)
    apis.core.patch_namespaced_config_map("cfg", "default", {"data": {"b": "2"}})
    assert apis.core.read_namespaced_config_map("cfg", "default").data == {"a": "1", "b": "2"}
    status = decoded_status(apis.core.delete_namespaced_config_map("cfg", "default"))
    assert status.status == "Success" and status.details.name == "cfg"

    deploy = kclient.V1Deployment(
        metadata=kclient.V1ObjectMeta(name="pyweb"),
        spec=kclient.V1DeploymentSpec(
            replicas=1, selector=kclient.V1LabelSelector(match_labels={"app": "pyweb"}),
            template=kclient.V1PodTemplateSpec(
                metadata=kclient.V1ObjectMeta(labels={"app": "pyweb"}),
                spec=web_pod("pyweb").spec)))
    apis.apps.create_namespaced_deployment("default", deploy)
    # the other fields of the container stay; env merges by name
    apis.apps.patch_namespaced_deployment("pyweb", "default", {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "web:2", "env": [{"name": "B", "value": "2"}]}]}}}})
    ready = wait_until(lambda: (d := apis.apps.read_namespaced_deployment("pyweb", "default"))
                       .status.available_replicas == 1 and d, 60, 0.2, "the deployment available")
    (c,) = ready.spec.template.spec.containers
    assert c.image == "web:2" and c.ports[0].container_port == 80
    assert {e.name: e.value for e in c.env} == {"A": "1", "B": "2"}
    scale = apis.apps.read_namespaced_deployment_scale("pyweb", "default")
    assert scale.spec.replicas == 1
    status = decoded_status(apis.apps.delete_namespaced_deployment("pyweb", "default"))
    assert status.details.kind == "deployments" and status.details.group == "apps"


def test_watch_configmaps(apis):
    start = apis.core.list_namespaced_config_map("default").metadata.resource_version
    seen: list[tuple[str, str]] = []
    w = kwatch.Watch()

    def read() -> None:
        for event in w.stream(apis.core.list_namespaced_config_map, "default",
                              resource_version=start, timeout_seconds=20):
            obj = event["object"]
            assert isinstance(obj, kclient.V1ConfigMap)
            seen.append((event["type"], obj.metadata.name))
            if event["type"] == "DELETED":
                w.stop()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    apis.core.create_namespaced_config_map(
        "default", kclient.V1ConfigMap(metadata=kclient.V1ObjectMeta(name="w"), data={"k": "v"}))
    apis.core.patch_namespaced_config_map("w", "default", {"data": {"k": "v2"}})
    apis.core.delete_namespaced_config_map("w", "default")
    reader.join(30)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
