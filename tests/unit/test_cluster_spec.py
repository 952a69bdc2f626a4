"""Names, addresses, paths and command lines of a local cluster (docs/contracts.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcluster.argv import (
    agent_argv,
    dockerd_argv,
    master_argv,
    master_init_argv,
    program_argv,
)
from localcluster.spec import ClusterSpec, SpecError

SPEC = ClusterSpec(dir=Path("/srv/c"))


def test_default_layout_follows_the_contract():
    assert SPEC.bridge == "cox0" and SPEC.bridge_cidr == "10.250.0.1/24"
    n1 = SPEC.node(1)
    assert (n1.netns, n1.veth_host, n1.address, n1.gateway) == (
        "cox-n1", "cox-n1-h", "10.250.0.11", "10.250.0.1")
    assert n1.docker_host == "unix:///run/coxswain/n1/docker.sock"
    assert n1.docker_data_root == Path("/srv/c/n1/docker")
    assert n1.docker_exec_root == Path("/run/coxswain/n1/exec")
    assert [m.api_url for m in SPEC.all_masters()] == [
        "https://10.250.0.1:6443", "https://10.250.0.1:6444", "https://10.250.0.1:6445"]
    assert [m.raft for m in SPEC.all_masters()] == [
        "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]
    assert SPEC.blackholes == ("10.244.0.0/16", "10.96.0.0/16")


@pytest.mark.parametrize("kwargs, message", [
    ({"masters": 0}, "--masters"),
    ({"nodes": -1}, "--nodes"),
    ({"subnet": "10.250.0.0/33"}, "bad network"),
    ({"subnet": "10.250.0.0/29", "nodes": 2}, "too small"),
    ({"prefix": "averylongprefix"}, "longer than 15"),
])
def test_bad_specs_are_refused_with_a_message_naming_the_problem(kwargs, message):
    with pytest.raises(SpecError, match=message):
        ClusterSpec(dir=Path("/c"), **kwargs)


def test_master_command_lines_name_every_peer_but_carry_no_secret():
    argv = master_argv(SPEC, SPEC.master(2))
    assert argv[1:6] == ["-m", "cli.main", "master", "run", "--name"]
    i = argv.index("--peer")
    assert argv[i:i + 4] == ["--peer", "127.0.0.1:7001", "--peer", "127.0.0.1:7003"]
    assert argv[argv.index("--listen") + 1] == "10.250.0.1:6444"
    assert argv[argv.index("--token-file") + 1] == "/srv/c/tokens.csv"
    assert argv[argv.index("--cluster-secret-file") + 1] == "/srv/c/cluster-secret"
    init = master_init_argv(SPEC)
    assert init[init.index("--node"):init.index("--node") + 4] == ["--node", "n1", "--node", "n2"]
    assert [init[i + 1] for i, x in enumerate(init) if x == "--master-url"] == SPEC.api_urls


def test_node_processes_run_inside_the_node_namespace_through_nsenter():
    n2 = SPEC.node(2)
    d = dockerd_argv(n2)
    assert d[:3] == ["nsenter", "--net=/run/netns/cox-n2", "--"]
    for flag in ("--bridge=none", "--iptables=false", "--ip-masq=false"):
        assert flag in d
    assert d[d.index("-H") + 1] == "unix:///run/coxswain/n2/docker.sock"
    assert d[d.index("--data-root") + 1] == "/srv/c/n2/docker"
    a = agent_argv(SPEC, n2)
    assert a[:3] == ["nsenter", "--net=/run/netns/cox-n2", "--"]
    assert a[a.index("--address") + 1] == "10.250.0.12"
    masters = [a[i + 1] for i, x in enumerate(a) if x == "--master"]
    assert masters == SPEC.api_urls
    assert a[a.index("--token-file") + 1] == "/srv/c/n2.token"
    assert a[a.index("--ca-file") + 1] == "/srv/c/pki/ca.crt"
    # its own serving certificate, for the masters to verify (docs/tls.md)
    assert a[a.index("--tls-cert-file") + 1] == "/srv/c/pki/node-n2.crt"
    assert a[a.index("--tls-private-key-file") + 1] == "/srv/c/pki/node-n2.key"


def test_masters_serve_https_with_certificates_for_the_bridge_address():
    init = master_init_argv(SPEC)
    assert [init[i + 1] for i, x in enumerate(init) if x == "--master-name"] == ["m1", "m2", "m3"]
    # the bridge, and the kubernetes Service for pods' in-cluster clients
    assert [init[i + 1] for i, x in enumerate(init) if x == "--tls-host"] == [
        "10.250.0.1", "10.96.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local"]
    argv = master_argv(SPEC, SPEC.master(2))
    assert argv[argv.index("--tls-cert-file") + 1] == "/srv/c/pki/m2.crt"
    assert argv[argv.index("--tls-private-key-file") + 1] == "/srv/c/pki/m2.key"
    assert argv[argv.index("--ca-file") + 1] == "/srv/c/pki/ca.crt"  # agents chain to it
    assert "--insecure-http" not in argv
    assert [init[i + 1] for i, x in enumerate(init) if x == "--node-address"] == [
        f"{n.name}={n.address}" for n in SPEC.all_nodes()]


def test_plain_http_only_when_asked_for():
    spec = ClusterSpec(dir=Path("/srv/c"), insecure_http=True)
    assert spec.api_urls[0] == "http://10.250.0.1:6443"
    argv = master_argv(spec, spec.master(1))
    assert "--insecure-http" in argv and "--tls-cert-file" not in argv
    assert "--master-name" not in master_init_argv(spec)
    assert "--ca-file" not in agent_argv(spec, spec.node(1))
    assert "--tls-cert-file" not in agent_argv(spec, spec.node(1))
    assert "--node-address" not in master_init_argv(spec)


def test_program_argv_is_what_proc_shows_after_nsenter_execs():
    argv = dockerd_argv(SPEC.node(1))
    assert program_argv(argv) == argv[3:]
    assert program_argv(["python", "-m", "x"]) == ["python", "-m", "x"]


def test_node_lifecycle_timing_reaches_the_masters_only_when_given():
    assert "--node-grace-period" not in master_argv(SPEC, SPEC.master(1))
    assert "--eviction-timeout" not in master_argv(SPEC, SPEC.master(1))
    spec = ClusterSpec(dir=Path("/srv/c"), node_grace_period=8, eviction_timeout=4.5)
    for m in spec.all_masters():
        argv = master_argv(spec, m)
        assert argv[argv.index("--node-grace-period") + 1] == "8"
        assert argv[argv.index("--eviction-timeout") + 1] == "4.5"
    with pytest.raises(SpecError, match="--eviction-timeout"):
        ClusterSpec(dir=Path("/srv/c"), eviction_timeout=0)
