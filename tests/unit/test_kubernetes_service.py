"""The ``kubernetes`` Service in ``default`` lists every master's API address."""

from __future__ import annotations

from master.admission.kubernetesservice import ensure_kubernetes_service

from .api_harness import Api


def test_each_master_adds_its_address_and_the_service_targets_them():
    api = Api()
    try:
        ensure_kubernetes_service(api.objects, "10.250.0.1", 6443)
        ensure_kubernetes_service(api.objects, "10.250.0.1", 6444)
        ensure_kubernetes_service(api.objects, "10.250.0.1", 6443)  # a restart: no duplicate
        ensure_kubernetes_service(api.objects, "0.0.0.0", 6445)  # nothing pods could reach
        svc = api.get("/api/v1/namespaces/default/services/kubernetes").json
        assert svc["spec"]["ports"][0]["port"] == 443
        ep = api.get("/api/v1/namespaces/default/endpoints/kubernetes").json
        assert [(s["addresses"][0]["ip"], s["ports"][0]["port"]) for s in ep["subsets"]] == [
            ("10.250.0.1", 6443), ("10.250.0.1", 6444)]
    finally:
        api.close()


def test_the_service_takes_the_first_address_the_masters_certificates_name():
    from coxapi import apiservice
    assert apiservice.hosts("10.96.216.0/24")[:2] == ["10.96.216.1", "kubernetes"]
    api = Api()
    try:
        ensure_kubernetes_service(api.objects, "10.250.0.1", 6443, service_cidr="10.96.216.0/24")
        svc = api.get("/api/v1/namespaces/default/services/kubernetes").json
        assert svc["spec"]["clusterIP"] == "10.96.216.1"
    finally:
        api.close()


def test_the_endpoints_record_each_master_and_drop_those_that_left_the_membership():
    import threading

    from coxapi import discovery
    from master.admission.kubernetesservice import follow_membership
    api = Api()
    stop = threading.Event()
    try:
        ensure_kubernetes_service(api.objects, "10.250.0.1", 6443, raft_addr="127.0.0.1:7001")
        ensure_kubernetes_service(api.objects, "10.250.0.1", 6444, raft_addr="127.0.0.1:7002")
        ensure_kubernetes_service(api.objects, "127.0.0.1", 6445, raft_addr="127.0.0.1:7003")
        ep = api.get("/api/v1/namespaces/default/endpoints/kubernetes").json
        assert discovery.recorded_masters(ep) == {"127.0.0.1:7001": "10.250.0.1:6443",
                                                  "127.0.0.1:7002": "10.250.0.1:6444",
                                                  "127.0.0.1:7003": "127.0.0.1:6445"}
        members = {"127.0.0.1:7002", "127.0.0.1:7003"}
        t = threading.Thread(target=follow_membership,
                             args=(api.objects, lambda: members, stop, 0.01))
        t.start()

        def pruned() -> dict | None:
            ep = api.get("/api/v1/namespaces/default/endpoints/kubernetes").json
            return ep if "127.0.0.1:7001" not in discovery.recorded_masters(ep) else None
        from tests.support import wait_until
        ep = wait_until(pruned, timeout=10)
        assert discovery.master_urls(ep, "https") == ["https://10.250.0.1:6444",
                                                      "https://127.0.0.1:6445"]
        assert [(s["addresses"][0]["ip"], s["ports"][0]["port"]) for s in ep["subsets"]] == [
            ("10.250.0.1", 6444)]  # the departed master's subset went with it
    finally:
        stop.set()
        api.close()
