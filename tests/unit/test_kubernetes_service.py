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
