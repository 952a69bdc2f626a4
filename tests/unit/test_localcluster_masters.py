"""Adding and removing masters of a local cluster (localcluster/masters.py):
the layout after each change, the seal's Raft ports, the recorded state, and
the Vagrant procedure running the same membership commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from localcluster import seal
from localcluster.argv import master_add_argv, master_argv, master_init_argv, master_remove_argv
from localcluster.masters import next_index, with_masters
from localcluster.spec import ClusterSpec, MasterSpec
from localcluster.state import ClusterState, MasterRecord

ROOT = Path(__file__).resolve().parents[2]


def spec(tmp_path: Path) -> ClusterSpec:
    return ClusterSpec.named(tmp_path, "cxt", masters=3, nodes=1, raft_port_base=53001,
                             api_port_base=53443)


def raft_ports(s: ClusterSpec) -> list[int]:
    raft_map = seal.plan(s).maps[0]
    return sorted(port for (_proto, port), _verdict in raft_map.elements)


def test_a_fourth_master_is_sealed_peers_with_the_members_and_is_listed(tmp_path):
    old = spec(tmp_path)
    new = with_masters(old, [1, 2, 3, next_index(old)])
    m4 = new.master(4)
    assert (m4.raft, m4.api_url) == ("127.0.0.1:53004", f"https://{old.bridge_address}:53446")
    assert raft_ports(old) == [53001, 53002, 53003]
    assert raft_ports(new) == [53001, 53002, 53003, 53004]
    argv = master_argv(new, m4)
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--peer"] == [
        m.raft for m in old.all_masters()]
    # its certificate is issued while the kubeconfig still lists the members only
    before = master_init_argv(new, urls=old.api_urls)
    assert "m4" in before and m4.api_url not in before
    assert m4.api_url in master_init_argv(new)


def test_removing_m2_drops_its_port_and_up_keeps_the_changed_masters(tmp_path):
    s = with_masters(spec(tmp_path), [1, 3, 4])
    assert [m.name for m in s.all_masters()] == ["m1", "m3", "m4"]
    assert raft_ports(s) == [53001, 53003, 53004]
    assert next_index(s) == 5
    state = ClusterState.empty(s)
    for m in s.all_masters():
        state.set_master(MasterRecord(name=m.name, api=m.api_url, raft=m.raft, pid=None,
                                      argv=[]))
    again = ClusterState.from_json(state.to_json()).spec(tmp_path)
    assert [m.name for m in again.all_masters()] == ["m1", "m3", "m4"]
    assert [m.data_dir for m in again.all_masters()] == [tmp_path / n for n in ("m1", "m3", "m4")]
    # the cluster as `up` made it records no indices: m1..mN
    plain = ClusterState.empty(spec(tmp_path))
    for m in spec(tmp_path).all_masters():
        plain.set_master(MasterRecord(name=m.name, api="", raft="", pid=None, argv=[]))
    assert plain.spec(tmp_path).master_indices == ()


def _script_command(action: str) -> list[str]:
    """The ``cox ...`` a case of scripts/provision/member.sh runs, for ADDR."""
    text = (ROOT / "scripts" / "provision" / "member.sh").read_text()
    line = re.search(rf"^\s*{action}\)\s+exec (.*?) ;;$", text, re.M)
    assert line, f"member.sh has no {action} case"
    words = shlex.split(line.group(1).replace("$ADDR", "10.0.0.14"))
    assert words[0] == "/usr/local/bin/cox"
    return words[1:]


def test_the_vagrant_procedure_runs_the_local_clusters_membership_commands(tmp_path):
    s = spec(tmp_path)
    m = MasterSpec(index=4, name="m4", api_host="10.0.0.14", api_port=6443,
                   raft_host="10.0.0.14", raft_port=7001, data_dir=tmp_path, log=tmp_path)

    def cox_args(argv: list[str]) -> list[str]:
        i = argv.index("--kubeconfig")
        return argv[i + 2:]  # after `-m cli.main --kubeconfig FILE`

    assert _script_command("add") == cox_args(master_add_argv(s, m))
    assert _script_command("remove") == cox_args(master_remove_argv(s, m))
