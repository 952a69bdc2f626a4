"""The cluster's certificates (coxapi.pki) and what clients make of them: a
master's certificate is trusted only when the cluster CA signed it, it names
the host the client asked for, and it is within its validity period."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import yaml

from cli import kubeconfig
from cli.errors import connection_problem
from coxapi import pki
from coxapi.client import Client
from coxapi.errors import ClusterUnreachable
from master.server import ApiServer

BODY = {"kind": "Status", "apiVersion": "v1", "status": "Success"}


async def tiny_app(scope: dict, receive: Callable[[], Awaitable[dict]],
                   send: Callable[[dict], Awaitable[None]]) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(BODY).encode()})


def write_pair(d: Path, name: str, pair: pki.KeyPair) -> tuple[str, str]:
    (d / f"{name}.crt").write_bytes(pair.cert_pem)
    (d / f"{name}.key").write_bytes(pair.key_pem)
    return str(d / f"{name}.crt"), str(d / f"{name}.key")


@pytest.fixture
def ca(tmp_path) -> tuple[pki.KeyPair, str]:
    pair = pki.new_ca()
    (tmp_path / "ca.crt").write_bytes(pair.cert_pem)
    return pair, str(tmp_path / "ca.crt")


@pytest.fixture
def serve(tmp_path) -> Iterator:
    servers: list[ApiServer] = []

    def start(pair: pki.KeyPair) -> str:
        s = ApiServer(tiny_app, "127.0.0.1", 0, tls=write_pair(tmp_path, f"s{len(servers)}", pair))
        s.start()
        servers.append(s)
        return f"https://127.0.0.1:{s.address[1]}"
    yield start
    for s in servers:
        s.stop()


def test_a_client_trusts_a_master_its_cluster_ca_signed(ca, serve):
    authority, ca_file = ca
    url = serve(pki.issue_serving(authority, "m1", ["localhost", "127.0.0.1"]))
    assert Client([url], "t", ca_file=ca_file).request("GET", "/version") == BODY


def test_a_client_with_another_ca_refuses_the_master(ca, serve, tmp_path):
    authority, _ = ca
    url = serve(pki.issue_serving(authority, "m1", ["127.0.0.1"]))
    other = tmp_path / "other-ca.crt"
    other.write_bytes(pki.new_ca().cert_pem)
    client = Client([url], "t", ca_file=str(other))
    with pytest.raises(ClusterUnreachable, match="CERTIFICATE_VERIFY_FAILED") as refused:
        client.request("GET", "/version")
    assert connection_problem(str(refused.value)) == (
        "TLS certificate verify failed: unable to get local issuer certificate")
    # the handshake failed before the request was sent: a write is not "maybe applied"
    with pytest.raises(ClusterUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        client.request("POST", "/api/v1/namespaces/default/configmaps", body={})


def test_an_expired_certificate_is_refused(ca, serve):
    authority, ca_file = ca
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    url = serve(pki.issue_serving(authority, "m1", ["127.0.0.1"], now=long_ago, days=1))
    with pytest.raises(ClusterUnreachable, match="certificate has expired"):
        Client([url], "t", ca_file=ca_file).request("GET", "/version")


def test_a_certificate_for_another_host_is_refused(ca, serve):
    authority, ca_file = ca
    url = serve(pki.issue_serving(authority, "m1", ["10.9.9.9", "elsewhere.example"]))
    with pytest.raises(ClusterUnreachable, match="IP address mismatch|doesn't match"):
        Client([url], "t", ca_file=ca_file).request("GET", "/version")


def test_a_serving_certificate_is_reissued_when_hosts_ca_or_time_say_so():
    authority = pki.new_ca()
    cert = pki.issue_serving(authority, "m1", ["localhost", "10.0.0.1"]).cert_pem
    assert pki.still_good(cert, authority.cert_pem, ["10.0.0.1", "localhost"])
    assert not pki.still_good(cert, authority.cert_pem, ["10.0.0.2"])
    assert not pki.still_good(cert, pki.new_ca().cert_pem, ["10.0.0.1"])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=pki.SERVING_DAYS) - pki.RENEW_BEFORE
    assert not pki.still_good(cert, authority.cert_pem, ["10.0.0.1"], now=later)


def test_the_ca_signs_only_serving_certificates_below_it():
    from cryptography import x509

    authority = pki.new_ca()
    ca_cert = x509.load_pem_x509_certificate(authority.cert_pem)
    constraints = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    leaf = x509.load_pem_x509_certificate(
        pki.issue_serving(authority, "m1", ["127.0.0.1"]).cert_pem)
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]


def _handshake(server_pair: pki.KeyPair, client_pair: pki.KeyPair, ca_file: str,
               tmp_path: Path) -> str | None:
    """A TLS handshake over a socket pair where the server asks for a client
    certificate from the CA (as an etcd member asks its peers); None if it
    succeeded, else what the server said."""
    import socket
    import ssl
    import threading

    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(*write_pair(tmp_path, "srv", server_pair))
    server_ctx.load_verify_locations(ca_file)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_cert_chain(*write_pair(tmp_path, "cli", client_pair))
    client_ctx.load_verify_locations(ca_file)
    a, b = socket.socketpair()
    outcome: list[str | None] = []

    def serve() -> None:
        try:
            with server_ctx.wrap_socket(a, server_side=True) as tls:
                tls.recv(1)
            outcome.append(None)
        except (ssl.SSLError, OSError) as e:
            outcome.append(str(e))
    t = threading.Thread(target=serve)
    t.start()
    try:
        with client_ctx.wrap_socket(b, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"x")
    except (ssl.SSLError, OSError):
        pass  # the server's refusal is what is judged
    t.join(10)
    return outcome[0]


def test_a_peer_certificate_may_dial_a_peer_and_a_serving_one_may_not(ca, tmp_path):
    authority, ca_file = ca
    peer = pki.issue_serving(authority, "e1", ["127.0.0.1"], peer=True)
    serving = pki.issue_serving(authority, "m1", ["127.0.0.1"])
    assert _handshake(peer, pki.issue_serving(authority, "e2", ["127.0.0.1"], peer=True),
                      ca_file, tmp_path) is None
    refused = _handshake(peer, serving, ca_file, tmp_path)
    assert refused is not None and "certificate" in refused


def test_a_kubeconfig_carries_its_ca_inline_or_as_a_file(ca, tmp_path):
    authority, ca_file = ca
    inline = {"clusters": [{"name": "c", "cluster": {
                  "server": "https://127.0.0.1:1",
                  "certificate-authority-data": base64.b64encode(authority.cert_pem).decode()}}],
              "users": [{"name": "u", "user": {"token": "t"}}],
              "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
              "current-context": "x"}
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(inline))
    got = kubeconfig.resolve(kubeconfig.load(str(path)))
    assert got.ca_file and Path(got.ca_file).read_bytes() == authority.cert_pem
    as_file = dict(inline, clusters=[{"name": "c", "cluster": {
        "server": "https://127.0.0.1:1", "certificate-authority": "ca.crt"}}])
    path.write_text(yaml.safe_dump(as_file))
    assert kubeconfig.resolve(kubeconfig.load(str(path))).ca_file == ca_file
    inline["clusters"][0]["cluster"]["certificate-authority-data"] = "not base64!"
    path.write_text(yaml.safe_dump(inline))
    with pytest.raises(kubeconfig.KubeconfigError, match="certificate-authority-data"):
        kubeconfig.resolve(kubeconfig.load(str(path)))
