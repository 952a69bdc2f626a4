"""cluster.json: its shape (docs/contracts.md), round trip, and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcluster import state
from localcluster.machinery import ClusterError, ensure_node_token
from localcluster.readiness import admin_token, nodes_ready
from localcluster.spec import ClusterSpec
from localcluster.state import ClusterState, MasterRecord, NodeRecord, StateError


def sample(tmp_path: Path) -> ClusterState:
    spec = ClusterSpec(dir=tmp_path, masters=1, nodes=1)
    st = ClusterState.empty(spec)
    st.set_master(MasterRecord(name="m1", api="http://10.250.0.1:6443", raft="127.0.0.1:7001",
                               pid=123, argv=["python", "-m", "cli.main", "master", "run"]))
    st.set_node(NodeRecord(name="n1", address="10.250.0.11", netns="cox-n1",
                           pids={"dockerd": 1, "agent": 2},
                           argv={"dockerd": ["nsenter"], "agent": ["nsenter"]}))
    return st


def test_cluster_json_has_the_contract_shape(tmp_path):
    path = tmp_path / "cluster.json"
    state.save(path, sample(tmp_path))
    data = json.loads(path.read_text())
    assert set(data) >= {"masters", "nodes", "image", "kubeconfig"}
    assert data["masters"][0] == {"name": "m1", "api": "http://10.250.0.1:6443",
                                  "raft": "127.0.0.1:7001", "pid": 123,
                                  "argv": ["python", "-m", "cli.main", "master", "run"]}
    n = data["nodes"][0]
    assert (n["name"], n["address"], n["netns"]) == ("n1", "10.250.0.11", "cox-n1")
    assert n["pids"] == {"dockerd": 1, "agent": 2}
    assert set(n["argv"]) == {"dockerd", "agent"}
    assert data["image"] == "coxswain/demo:latest"
    assert data["kubeconfig"] == str(tmp_path / "kubeconfig")


def test_round_trip_and_recorded_spec(tmp_path):
    path = tmp_path / "cluster.json"
    st = sample(tmp_path)
    state.save(path, st)
    back = state.load(path)
    assert back == st
    spec = back.spec(tmp_path)
    assert (spec.masters, spec.nodes, spec.bridge, spec.seal_table) == (1, 1, "cox0",
                                                                        "coxswain-seal")


def test_records_are_replaced_by_name_and_kept_in_order(tmp_path):
    st = sample(tmp_path)
    st.set_node(NodeRecord(name="n2", address="a", netns="b"))
    st.set_node(NodeRecord(name="n1", address="x", netns="y"))
    assert [(n.name, n.address) for n in st.nodes] == [("n1", "x"), ("n2", "a")]


def test_missing_file_is_no_cluster_and_garbage_is_a_clear_error(tmp_path):
    assert state.load(tmp_path / "nope.json") is None
    bad = tmp_path / "cluster.json"
    bad.write_text("{not json")
    with pytest.raises(StateError, match="cannot read"):
        state.load(bad)
    bad.write_text('{"masters": []}')
    with pytest.raises(StateError, match="not a cluster description"):
        state.load(bad)


def test_node_token_is_taken_from_tokens_csv_when_init_wrote_none(tmp_path):
    csv = tmp_path / "tokens.csv"
    csv.write_text('admintok,admin,admin,"system:masters"\n'
                   'n1tok,system:node:n1,node-n1,"system:nodes"\n')
    ensure_node_token(csv, "n1", tmp_path / "n1.token")
    assert (tmp_path / "n1.token").read_text().strip() == "n1tok"
    assert (tmp_path / "n1.token").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ClusterError, match="no token for node n2"):
        ensure_node_token(csv, "n2", tmp_path / "n2.token")


def test_admin_token_from_kubeconfig(tmp_path):
    kc = tmp_path / "kubeconfig"
    kc.write_text("apiVersion: v1\nkind: Config\ncurrent-context: cox\n"
                  "clusters: [{name: cox, cluster: {server: 'http://10.250.0.1:6443'}}]\n"
                  "contexts: [{name: cox, context: {cluster: cox, user: admin}}]\n"
                  "users: [{name: admin, user: {token: s3cret}}]\n")
    assert admin_token(kc) == "s3cret"


def test_nodes_ready_reads_the_ready_condition():
    listing = {"items": [
        {"metadata": {"name": "n1"},
         "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        {"metadata": {"name": "n2"},
         "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
        {"metadata": {"name": "n3"}, "status": {}},
    ]}
    assert nodes_ready(listing, ["n1", "n2", "n3", "n4"]) == ({"n1"}, {"n2", "n3", "n4"})
