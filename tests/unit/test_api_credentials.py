"""Static token authentication and the files of `cox master init`."""

from __future__ import annotations

import stat

import yaml
from click.testing import CliRunner

from master.auth import (
    FileTokenAuthenticator,
    TokenAuthenticator,
    init_cluster_dir,
    load_tokens,
    parse_tokens,
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
    init_cluster_dir(tmp_path, ["n1", "n2"], ["http://10.250.0.1:6443", "http://10.250.0.1:6444"])
    for name in ("cluster-secret", "tokens.csv", "kubeconfig", "n1.token", "n2.token"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, name
    entries = {e.user.name: e for e in load_tokens(tmp_path / "tokens.csv")}
    assert "system:masters" in entries["admin"].user.groups
    assert entries["system:node:n1"].user.groups == ("system:nodes",)
    assert (tmp_path / "n1.token").read_text().strip() == entries["system:node:n1"].token
    cfg = yaml.safe_load((tmp_path / "kubeconfig").read_text())
    cluster = cfg["clusters"][0]["cluster"]
    assert cluster["server"] == "http://10.250.0.1:6443"
    assert cluster["x-coxswain-servers"] == ["http://10.250.0.1:6443", "http://10.250.0.1:6444"]
    assert cfg["users"][0]["user"]["token"] == entries["admin"].token
    assert cfg["current-context"] == cfg["contexts"][0]["name"]


def test_init_is_idempotent_and_keeps_secrets(tmp_path):
    init_cluster_dir(tmp_path, ["n1"], ["http://a:1", "http://b:2"])
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    result = init_cluster_dir(tmp_path, ["n1"])
    assert result.created == []
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before
    init_cluster_dir(tmp_path, ["n1", "n2"])  # a new node gets a token; the rest stays
    assert (tmp_path / "cluster-secret").read_text() == before["cluster-secret"]
    assert (tmp_path / "n1.token").read_text() == before["n1.token"]
    assert (tmp_path / "n2.token").exists()


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
        "--cluster-secret-file", str(tmp_path / "cluster-secret")])
    assert r.exit_code == 2 and "--listen" in r.output


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
