"""Static token authentication and the files of `cox master init`."""

from __future__ import annotations

import base64
import stat

import yaml
from click.testing import CliRunner

from coxapi import pki
from master.auth import (
    FileTokenAuthenticator,
    TokenAuthenticator,
    init_cluster_dir,
    load_tokens,
    parse_tokens,
    pki_dir,
)
from master.command import master


def test_token_file_in_kubernetes_csv_format():
    entries = parse_tokens('abc,alice,u1,"system:masters,devs"\n# comment\n\nxyz,bob,u2\n')
    assert [(e.token, e.user.name, e.user.uid, e.user.groups) for e in entries] == [
        ("abc", "alice", "u1", ("system:masters", "devs")), ("xyz", "bob", "u2", ())]
    auth = TokenAuthenticator(entries)
    assert auth.authenticate("Bearer abc").name == "alice"
    assert auth.authenticate("bearer xyz").name == "bob"
    assert auth.authenticate("Bearer abcd") is None
    assert auth.authenticate("Basic abc") is None
    assert auth.authenticate(None) is None


def test_init_writes_private_credentials_and_a_kubeconfig(tmp_path):
    init_cluster_dir(tmp_path, ["n1", "n2"], ["https://10.250.0.1:6443", "https://10.250.0.1:6444"],
                     ["m1", "m2"], ["10.250.0.1"])
    for name in ("cluster-secret", "tokens.csv", "kubeconfig", "n1.token", "n2.token",
                 "pki/ca.crt", "pki/ca.key", "pki/m1.crt", "pki/m1.key", "pki/m2.key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, name
    assert stat.S_IMODE((tmp_path / "pki").stat().st_mode) == 0o700
    entries = {e.user.name: e for e in load_tokens(tmp_path / "tokens.csv")}
    assert "system:masters" in entries["admin"].user.groups
    assert entries["system:node:n1"].user.groups == ("system:nodes",)
    assert (tmp_path / "n1.token").read_text().strip() == entries["system:node:n1"].token
    cfg = yaml.safe_load((tmp_path / "kubeconfig").read_text())
    cluster = cfg["clusters"][0]["cluster"]
    assert cluster["server"] == "https://10.250.0.1:6443"
    assert cluster["x-coxswain-servers"] == ["https://10.250.0.1:6443", "https://10.250.0.1:6444"]
    ca = (tmp_path / "pki" / "ca.crt").read_bytes()
    assert base64.b64decode(cluster["certificate-authority-data"]) == ca
    for m in ("m1", "m2"):  # each master's certificate names every address it is reached at
        assert pki.still_good((tmp_path / "pki" / f"{m}.crt").read_bytes(), ca,
                              [m, "localhost", "127.0.0.1", "10.250.0.1"])
    assert cfg["users"][0]["user"]["token"] == entries["admin"].token
    assert cfg["current-context"] == cfg["contexts"][0]["name"]


def test_init_is_idempotent_and_keeps_secrets(tmp_path):
    def files() -> dict[str, str]:
        return {str(p.relative_to(tmp_path)): p.read_text() for p in tmp_path.rglob("*")
                if p.is_file()}

    init_cluster_dir(tmp_path, ["n1"], ["https://a:1", "https://b:2"], ["m1"], ["10.0.0.1"])
    before = files()
    result = init_cluster_dir(tmp_path, ["n1"], masters=["m1"], tls_hosts=["10.0.0.1"])
    assert result.created == []
    assert files() == before
    init_cluster_dir(tmp_path, ["n1", "n2"])  # a new node gets a token; the rest stays
    assert (tmp_path / "cluster-secret").read_text() == before["cluster-secret"]
    assert (tmp_path / "n1.token").read_text() == before["n1.token"]
    assert (tmp_path / "n2.token").exists()
    # a master reached at a new address gets a new certificate from the same CA
    result = init_cluster_dir(tmp_path, masters=["m1"], tls_hosts=["10.0.0.1", "10.0.0.2"])
    assert sorted(result.created) == [str(tmp_path / "pki" / "m1.crt"),
                                      str(tmp_path / "pki" / "m1.key")]
    assert files()["pki/ca.crt"] == before["pki/ca.crt"]


def test_cox_master_init_command(tmp_path):
    r = CliRunner().invoke(master, ["init", "--dir", str(tmp_path), "--node", "n1"])
    assert r.exit_code == 0, r.output
    assert "kubeconfig" in r.output
    assert load_tokens(tmp_path / "tokens.csv")[0].token not in r.output  # never printed
    r = CliRunner().invoke(master, ["init", "--dir", str(tmp_path), "--node", "n1"])
    assert r.exit_code == 0 and "up to date" in r.output


def test_cox_master_run_rejects_bad_addresses(tmp_path):
    init_cluster_dir(tmp_path)
    r = CliRunner().invoke(master, [
        "run", "--name", "m1", "--listen", "nowhere", "--raft", "127.0.0.1:1",
        "--data-dir", str(tmp_path / "m1"), "--token-file", str(tmp_path / "tokens.csv"),
        "--cluster-secret-file", str(tmp_path / "cluster-secret"), "--insecure-http"])
    assert r.exit_code == 2 and "--listen" in r.output


def test_cox_master_run_serves_https_unless_told_plain_http(tmp_path):
    init_cluster_dir(tmp_path, masters=["m1"])
    base = ["run", "--name", "m1", "--listen", "127.0.0.1:1", "--raft", "127.0.0.1:2",
            "--data-dir", str(tmp_path / "m1"), "--token-file", str(tmp_path / "tokens.csv"),
            "--cluster-secret-file", str(tmp_path / "cluster-secret")]
    r = CliRunner().invoke(master, base)
    assert r.exit_code == 2 and "tls_cert_file and tls_private_key_file are required" in r.output
    r = CliRunner().invoke(master, [*base, "--insecure-http",
                                    "--tls-cert-file", str(tmp_path / "pki" / "m1.crt")])
    assert r.exit_code == 2 and "insecure_http serves no certificate" in r.output


def test_a_token_file_is_reloaded_when_it_changes(tmp_path):
    init_cluster_dir(tmp_path, ["n1"])
    clock = [0.0]
    auth = FileTokenAuthenticator(tmp_path / "tokens.csv", interval=1.0, clock=lambda: clock[0])
    assert auth.authenticate(f"Bearer {(tmp_path / 'n1.token').read_text().strip()}")
    init_cluster_dir(tmp_path, ["n1", "n2"])
    n2 = f"Bearer {(tmp_path / 'n2.token').read_text().strip()}"
    assert auth.authenticate(n2) is None  # not re-checked within the interval
    clock[0] += 1.5
    assert auth.authenticate(n2).name == "system:node:n2"
    (tmp_path / "tokens.csv").write_text("broken-line-without-fields\n")
    clock[0] += 1.5
    assert auth.authenticate(n2).name == "system:node:n2"  # keeps the last good tokens


def test_a_token_is_found_by_lookup_and_a_reloaded_file_replaces_the_tokens(tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_text("t1,alice,u1\nt2,bob,u2\nt2,carol,u3\n")
    now = [0.0]
    auth = FileTokenAuthenticator(path, interval=1.0, clock=lambda: now[0])
    assert auth.authenticate("Bearer t2").name == "carol"  # the last entry of a token wins
    path.write_text("t3,dave,u4\n")
    assert auth.authenticate("Bearer t3") is None  # not re-read before the interval
    now[0] = 2.0
    assert auth.authenticate("Bearer t3").name == "dave"
    assert auth.authenticate("Bearer t1") is None


def test_init_issues_each_agent_a_certificate_for_its_addresses(tmp_path):
    result = init_cluster_dir(tmp_path, ["n1"], agents={"n1": ["10.0.0.5"]})
    certs = pki_dir(tmp_path)
    cert = certs.cert(pki.agent_cert_name("n1"))
    assert str(cert) in result.created and certs.key(pki.agent_cert_name("n1")).exists()
    assert pki.still_good(cert.read_bytes(), certs.ca_cert.read_bytes(), ["n1", "10.0.0.5"])
    assert init_cluster_dir(tmp_path, ["n1"], agents={"n1": ["10.0.0.5"]}).created == []


def test_init_refuses_a_node_address_without_its_name(tmp_path):
    done = CliRunner().invoke(master, ["init", "--dir", str(tmp_path / "d"),
                                       "--node-address", "10.0.0.5"])
    assert done.exit_code == 2 and "--node-address" in done.output
    assert not (tmp_path / "d").exists()
