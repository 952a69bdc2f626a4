"""The ``Runtime`` contract, run against ``FakeRuntime`` and against real Docker,
so the agent's unit tests (on the fake) mean something for Docker."""

from __future__ import annotations

import random
import uuid

import docker
import docker.errors
import pytest

from node import podspec
from node.podspec import ContainerSpec
from node.runtime import DockerRuntime, ImagePullError, RuntimeFailure
from node.testing import TEST_IMAGE, FakeRuntime, build_test_image


@pytest.fixture(params=["fake", pytest.param("docker", marks=pytest.mark.e2e)])
def rt(request):
    test_id = uuid.uuid4().hex[:10]
    network = f"coxt-{test_id}"
    if request.param == "fake":
        runtime = FakeRuntime(images=(TEST_IMAGE, podspec.PAUSE_IMAGE))
        runtime.ensure_network(network, "10.0.0.0/24", "10.0.0.1")
        yield runtime, network, test_id, "10.0.0.0/24"
        return
    try:
        api = docker.APIClient(version="auto")
        api.ping()
    except docker.errors.DockerException as e:
        pytest.skip(f"no Docker: {e}")
    build_test_image(api)
    runtime = DockerRuntime(network=network)
    prefix = f"10.{random.randint(200, 230)}.{random.randint(0, 255)}"
    runtime.ensure_network(network, f"{prefix}.0/24", f"{prefix}.1")
    try:
        yield runtime, network, test_id, f"{prefix}.0/24"
    finally:
        for c in api.containers(all=True, filters={"label": f"coxswain.test={test_id}"}):
            api.remove_container(c["Id"], force=True)
        for net in api.networks(names=[network]):
            if net["Name"] == network:
                api.remove_network(net["Id"])
        api.close()


def spec(test_id: str, name: str, **kw) -> ContainerSpec:
    labels = {"coxswain.test": test_id, podspec.LABEL_CONTAINER_NAME: name}
    return ContainerSpec(name=f"coxt_{name}_{test_id}", image=kw.pop("image", TEST_IMAGE),
                         labels=labels, entrypoint=["/bin/sh", "-c"],
                         command=["trap 'exit 0' TERM; while :; do sleep 1; done"], **kw)


def test_run_list_stop_remove(rt):
    runtime, network, test_id, _ = rt
    cid = runtime.run(spec(test_id, "a", network=network))
    [info] = runtime.list_containers({"coxswain.test": test_id})
    assert info.id == cid and info.running and info.container_name == "a"
    assert info.started_at is not None and info.exit_code is None and info.ip
    runtime.stop(cid, 5)
    stopped = runtime.inspect(cid)
    assert stopped.state == "exited" and stopped.exit_code is not None
    assert stopped.finished_at is not None
    runtime.remove(cid)
    assert runtime.inspect(cid) is None
    assert runtime.list_containers({"coxswain.test": test_id}) == []
    runtime.remove(cid)  # removing twice is not an error


def test_a_stopped_leftover_of_the_same_name_is_replaced_a_running_one_never(rt):
    runtime, network, test_id, _ = rt
    first = runtime.run(spec(test_id, "dup", network=network))
    with pytest.raises(RuntimeFailure):
        runtime.run(spec(test_id, "dup", network=network))
    assert runtime.inspect(first).running
    runtime.stop(first, 5)
    second = runtime.run(spec(test_id, "dup", network=network))
    assert first != second
    assert [c.id for c in runtime.list_containers({"coxswain.test": test_id})] == [second]


def test_missing_image_fails_to_run_and_cannot_be_pulled(rt):
    runtime, network, test_id, _ = rt
    absent = "coxswain-test/absent:1"
    assert not runtime.has_image(absent) and runtime.has_image(TEST_IMAGE)
    with pytest.raises(RuntimeFailure):
        runtime.run(spec(test_id, "x", image=absent, network=network))
    with pytest.raises(ImagePullError):
        runtime.pull(absent)


def test_exec_reports_exit_codes(rt):
    runtime, network, test_id, _ = rt
    cid = runtime.run(spec(test_id, "e", network=network))
    assert runtime.exec(cid, ["true"], 5)[0] == 0
    assert runtime.exec(cid, ["false"], 5)[0] != 0
    runtime.stop(cid, 5)
    assert runtime.exec(cid, ["true"], 5)[0] == -1


def test_ensure_network_is_idempotent_and_attaches_in_its_subnet(rt):
    runtime, network, test_id, subnet = rt
    gateway = subnet.replace(".0/24", ".1")
    runtime.ensure_network(network, subnet, gateway)
    runtime.ensure_network(network, subnet, gateway)
    cid = runtime.run(spec(test_id, "n", network=network))
    assert runtime.inspect(cid).ip.rsplit(".", 1)[0] == subnet.rsplit(".", 1)[0]
