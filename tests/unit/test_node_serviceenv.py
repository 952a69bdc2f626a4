"""Service environment variables: what kubelet injects, and that the agent
gives them to containers for the Services that exist when they start."""

from __future__ import annotations

import pytest

from coxapi.informer import Informer
from node.podspec import ConfigError
from node.serviceenv import service_env, visible
from tests.support import wait_until

from .test_node_agent import add_pod, env, sync  # noqa: F401 - the agent fixture


def svc(name, ip="10.96.0.10", ns="default", ports=None):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": [{"port": 80, "protocol": "TCP"}]
                     if ports is None else ports}}


def test_variables_as_kubelet_writes_them():
    got = service_env([svc("web-api", ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                                             {"name": "dns", "port": 53, "protocol": "UDP"}])])
    assert got == {
        "WEB_API_SERVICE_HOST": "10.96.0.10",
        "WEB_API_SERVICE_PORT": "80",
        "WEB_API_SERVICE_PORT_HTTP": "80",
        "WEB_API_SERVICE_PORT_DNS": "53",
        "WEB_API_PORT": "tcp://10.96.0.10:80",
        "WEB_API_PORT_80_TCP": "tcp://10.96.0.10:80",
        "WEB_API_PORT_80_TCP_PROTO": "tcp",
        "WEB_API_PORT_80_TCP_PORT": "80",
        "WEB_API_PORT_80_TCP_ADDR": "10.96.0.10",
        "WEB_API_PORT_53_UDP": "udp://10.96.0.10:53",
        "WEB_API_PORT_53_UDP_PROTO": "udp",
        "WEB_API_PORT_53_UDP_PORT": "53",
        "WEB_API_PORT_53_UDP_ADDR": "10.96.0.10",
    }
    assert service_env([svc("headless", ip="None")]) == {}


def test_visible_services_namespace_and_enable_service_links():
    pod = {"metadata": {"namespace": "team"}, "spec": {}}
    services = [svc("kubernetes", "10.96.0.1"), svc("web"), svc("db", ns="team")]
    assert [s["metadata"]["name"] for s in visible(pod, services)] == ["db", "kubernetes"]
    pod["spec"]["enableServiceLinks"] = False
    assert [s["metadata"]["name"] for s in visible(pod, services)] == ["kubernetes"]


def test_containers_get_the_services_that_exist_when_they_start(env):  # noqa: F811
    api, rt, agent, _ = env
    api.create(svc("kubernetes", "10.96.0.1", ports=[{"name": "https", "port": 443,
                                                      "protocol": "TCP"}]))
    api.create(svc("web", "10.96.0.20"))
    # The agent's Service informer has them (as kubelet's lister would, long
    # before a pod created after them is scheduled): no list per start.
    wait_until(lambda: agent.services.get_by("default", "web"), 10, what="the Service watched")
    listed = api.calls.count(("list", "Service"))
    uid = add_pod(api, containers=[{"name": "app", "image": "busybox:test",
                                    "imagePullPolicy": "IfNotPresent",
                                    "env": [{"name": "WEB_SERVICE_PORT", "value": "8080"},
                                            {"name": "URL", "value": "$(WEB_SERVICE_HOST)"}]}]
                  )["metadata"]["uid"]
    sync(agent)
    first = rt.specs[rt.app(uid, "app").id].env
    assert first["WEB_SERVICE_HOST"] == "10.96.0.20" and first["URL"] == "10.96.0.20"
    assert first["WEB_SERVICE_PORT"] == "8080"  # the container's own env wins
    assert first["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert "LATE_SERVICE_HOST" not in first
    assert api.calls.count(("list", "Service")) == listed
    api.create(svc("late", "10.96.0.30"))
    sync(agent)
    assert rt.specs[rt.app(uid, "app").id].env == first  # a running container keeps its env


def test_until_the_informer_has_listed_a_start_lists_the_services(env):  # noqa: F811
    api, _, agent, _ = env
    api.create(svc("web", "10.96.0.20"))
    offline = Informer(api, "Service", stale_list=True)  # not started: never synced
    agent.executor.services = offline
    with_web = {"metadata": {"name": "a", "namespace": "default"}, "spec": {}}
    api.reachable = False
    with pytest.raises(ConfigError, match="listing services"):
        agent.executor._service_env(with_web)
    api.reachable = True
    assert agent.executor._service_env(with_web)["WEB_SERVICE_HOST"] == "10.96.0.20"
    assert offline.wait_for_sync(0), "the list filled the informer"
    # Offline, its cache still serves: a crashed container restarts without the API.
    api.reachable = False
    assert agent.executor._service_env(with_web)["WEB_SERVICE_HOST"] == "10.96.0.20"
