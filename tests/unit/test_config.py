"""Settings: defaults in code < config file < environment < flags, one typed
object per process kind, unknown keys and wrong types refused by name, and
every shared default written once."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from coxapi import config as C
from localcluster.spec import ClusterSpec
from master.api.config import ApiConfig
from master.auth import init_cluster_dir
from master.command import master
from master.config import MasterConfig
from master.controllers.config import ControllerConfig
from master.objects import ObjectStore
from master.process import Master, _controller_manager
from node.command import node as node_command
from node.config import AgentConfig, NodeRunConfig
from raftstore import MemoryStore
from raftstore.config import StoreConfig
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Section:
    size: int = 1
    ratio: float = 0.5
    enabled: bool = True
    hidden: str = field(default="x", metadata=C.NOT_A_SETTING)


@dataclass
class Settings:
    name: str
    color: str = "red"
    tags: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    span: tuple[int, int] = (1, 2)
    limit: int | None = None
    sub: Section = field(default_factory=Section)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return str(path)


def load(**kw: object) -> Settings:
    kw.setdefault("env", {})
    return C.load(Settings, env_prefix="T_", **kw)  # type: ignore[arg-type]


# ---- precedence ----

def test_each_layer_overrides_the_one_before(tmp_path):
    file = write(tmp_path, "name: f\ncolor: blue\nsub: {size: 2, ratio: 1}\ntags: [a, b]\n")
    env = {"T_COLOR": "green", "T_SUB_SIZE": "3", "T_TAGS": "c, d"}
    assert load(flags={"name": "n"}) == Settings(name="n")  # defaults
    from_file = load(file=file)
    assert (from_file.name, from_file.color, from_file.sub, from_file.tags) == (
        "f", "blue", Section(size=2, ratio=1.0), ["a", "b"])
    from_env = load(file=file, env=env)
    assert (from_env.color, from_env.sub.size, from_env.sub.ratio, from_env.tags) == (
        "green", 3, 1.0, ["c", "d"])
    from_flags = load(file=file, env=env, flags={"color": "black", "sub.size": 4, "tags": None})
    assert (from_flags.name, from_flags.color, from_flags.sub.size, from_flags.tags) == (
        "f", "black", 4, ["c", "d"])  # a flag given as None was not given


def test_environment_values_are_parsed_by_the_setting_type():
    s = load(env={"T_NAME": "e", "T_SUB_ENABLED": "false", "T_SUB_RATIO": "2.5",
                  "T_LABELS": "a=1,b=x=y", "T_SPAN": "30000,32767", "T_LIMIT": "7"})
    assert (s.sub.enabled, s.sub.ratio, s.labels, s.span, s.limit) == (
        False, 2.5, {"a": "1", "b": "x=y"}, (30000, 32767), 7)
    assert load(env={"T_NAME": "e", "T_LIMIT": ""}).limit is None


def test_an_empty_file_is_no_settings(tmp_path):
    assert load(file=write(tmp_path, ""), flags={"name": "n"}) == Settings(name="n")


# ---- errors name the key ----

@pytest.mark.parametrize(("text", "message"), [
    ("name: n\ncolour: red\n", "unknown setting 'colour'"),
    ("name: n\nsub: {size: 1, szie: 2}\n", "unknown setting 'sub.szie'"),
    ("name: n\nsub: {hidden: y}\n", "unknown setting 'sub.hidden'"),
    ("name: n\nsub: 3\n", "sub (FILE): expected a mapping of settings, got int"),
    ("name: n\nsub: {size: many}\n", "sub.size (FILE): expected int, got str 'many'"),
    ("name: n\nsub: {size: 1.5}\n", "sub.size (FILE): expected int, got float 1.5"),
    ("name: n\nsub: {enabled: 1}\n", "sub.enabled (FILE): expected bool, got int 1"),
    ("name: n\nlabels: {a: yes}\n", "labels.a (FILE): expected str, got bool True"),
    ("name: n\nsub: {ratio: true}\n", "sub.ratio (FILE): expected float, got bool True"),
    ("name: n\ntags: a\n", "tags (FILE): expected list[str], got str 'a'"),
    ("name: n\ntags: [a, 1]\n", "tags[1] (FILE): expected str, got int 1"),
    ("name: n\nspan: [1]\n", "span (FILE): expected tuple[int, int], got list [1]"),
    ("- name\n", "config file FILE must hold a mapping of settings"),
    ("name: [\n", "config file FILE is not valid YAML"),
])
def test_a_bad_file_is_refused_naming_the_key(tmp_path, text, message):
    file = write(tmp_path, text)
    with pytest.raises(C.ConfigError) as e:
        load(file=file)
    assert message.replace("FILE", file) in str(e.value)


@pytest.mark.parametrize(("env", "message"), [
    ({"T_COLOUR": "red"}, "unknown setting in the environment: T_COLOUR"),
    ({"T_SUB_HIDDEN": "y"}, "unknown setting in the environment: T_SUB_HIDDEN"),
    ({"T_SUB_SIZE": "many"}, "sub.size (T_SUB_SIZE): expected int, got 'many'"),
    ({"T_SUB_ENABLED": "maybe"}, "sub.enabled (T_SUB_ENABLED): expected bool, got 'maybe'"),
    ({"T_LABELS": "a"}, "labels (T_LABELS): expected dict[str, str], got 'a'"),
])
def test_a_bad_environment_variable_is_refused_by_name(env, message):
    with pytest.raises(C.ConfigError) as e:
        load(env={"T_NAME": "n", "OTHER_THING": "ignored", **env})
    assert str(e.value) == message


def test_bad_flags_and_missing_settings_are_refused_by_name(tmp_path):
    with pytest.raises(C.ConfigError, match=r"^sub.size \(flags\): expected int, got str 'x'$"):
        load(flags={"name": "n", "sub.size": "x"})
    with pytest.raises(C.ConfigError, match=r"^unknown setting 'nope' \(flags\)$"):
        load(flags={"name": "n", "nope": 1})
    with pytest.raises(C.ConfigError, match=r"^missing setting name: give it in the config "
                                            r"file, as T_NAME or with its flag$"):
        load()
    with pytest.raises(C.ConfigError, match="cannot read config file"):
        load(file=str(tmp_path / "absent.yaml"))


# ---- the master and the node agent ----

def test_every_master_setting_has_a_supported_type_and_its_own_variable():
    keys = C.settings(MasterConfig)
    assert {"raft.fsync", "raft.quota_bytes", "raft.election_timeout_min",
            "raft.snapshot_entries", "controllers.cluster_cidr", "api.watch_max_seconds",
            "event_ttl"} <= set(keys)
    # set by the master itself, never by a user
    assert not {"raft.secret", "raft.data_dir", "raft.self_addr", "raft.peers", "api.name",
                "api.authenticator", "api.event_ttl_seconds", "controllers.event_ttl",
                "controllers.clock"} & set(keys)
    names = [C.env_name("COX_MASTER_", k) for k in keys]
    assert len(set(names)) == len(names)
    for key, typ in keys.items():  # every type is one the loader reads
        default = C.default_of(MasterConfig, key)
        if default is not dataclasses.MISSING:
            C._check(default, typ, key, "defaults")
    node_keys = C.settings(NodeRunConfig)
    assert len({C.env_name("COX_NODE_", k) for k in node_keys}) == len(node_keys)


@pytest.fixture
def captured_master(tmp_path, monkeypatch):
    """``cox master run`` up to the point where it would start the master."""
    import master.process as process

    init_cluster_dir(tmp_path)
    seen: list[MasterConfig] = []

    class FakeMaster:
        def __init__(self, cfg: MasterConfig) -> None:
            seen.append(cfg)

        def start(self) -> None:
            raise OSError("not starting in a unit test")

        def stop(self) -> None:
            pass

    monkeypatch.setattr(process, "Master", FakeMaster)
    for name in [n for n in os.environ if n.startswith("COX_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr("signal.signal", lambda *a: None)
    return tmp_path, seen


def test_cox_master_run_layers_file_env_and_flags(captured_master):
    tmp_path, seen = captured_master
    config = tmp_path / "master.yaml"
    config.write_text(f"""
name: m1
listen: 127.0.0.1:6443
raft_addr: 127.0.0.1:7001
peers: [127.0.0.1:7002, 127.0.0.1:7003]
data_dir: {tmp_path / "m1"}
token_file: {tmp_path / "tokens.csv"}
cluster_secret_file: {tmp_path / "cluster-secret"}
tls_cert_file: {tmp_path / "m1.crt"}
tls_private_key_file: {tmp_path / "m1.key"}
event_ttl: 600
raft:
  fsync: false
  quota_bytes: 1000000
  election_timeout_min: 1.0
  election_timeout_max: 2.0
controllers:
  cluster_cidr: 10.8.0.0/16
  node_grace_period: 40
""")
    r = CliRunner().invoke(
        master, ["run", "--config", str(config), "--raft-quota-bytes", "5000000",
                 "--name", "m9", "--peer", "127.0.0.1:7004"],
        env={"COX_MASTER_RAFT_ELECTION_TIMEOUT_MIN": "1.5", "COX_MASTER_NAME": "m5",
             "COX_MASTER_CONTROLLERS_SERVICE_CIDR": "10.9.0.0/16"})
    assert r.exit_code == 1, r.output
    cfg = seen[0]
    assert (cfg.name, cfg.peers, cfg.event_ttl) == ("m9", ["127.0.0.1:7004"], 600)
    assert cfg.tls_files() == (str(tmp_path / "m1.crt"), str(tmp_path / "m1.key"))
    assert (cfg.raft.fsync, cfg.raft.quota_bytes, cfg.raft.election_timeout_min,
            cfg.raft.election_timeout_max, cfg.raft.heartbeat_period) == (
        False, 5_000_000, 1.5, 2.0, StoreConfig.heartbeat_period)
    assert (cfg.controllers.cluster_cidr, cfg.controllers.service_cidr,
            cfg.controllers.node_grace_period, cfg.controllers.eviction_timeout) == (
        "10.8.0.0/16", "10.9.0.0/16", 40.0, ControllerConfig.eviction_timeout)


def test_cox_master_run_with_flags_alone_keeps_every_default(captured_master):
    tmp_path, seen = captured_master
    r = CliRunner().invoke(master, [
        "run", "--name", "m1", "--listen", "127.0.0.1:6443", "--raft", "127.0.0.1:7001",
        "--data-dir", str(tmp_path / "m1"), "--token-file", str(tmp_path / "tokens.csv"),
        "--cluster-secret-file", str(tmp_path / "cluster-secret"), "--no-raft-fsync",
        "--insecure-http"])
    assert r.exit_code == 1, r.output
    cfg = seen[0]
    for key in C.settings(MasterConfig):
        if "." in key:
            section, name = key.split(".")
            want = False if key == "raft.fsync" else C.default_of(MasterConfig, key)
            assert getattr(getattr(cfg, section), name) == want, key
    assert (cfg.peers, cfg.threads, cfg.event_ttl, cfg.log_level) == ([], 128, 3600, "INFO")


def test_cox_master_run_refuses_an_unknown_key_and_a_missing_setting(captured_master):
    tmp_path, seen = captured_master
    config = tmp_path / "master.yaml"
    config.write_text("raft: {fysnc: false}\n")
    r = CliRunner().invoke(master, ["run", "--config", str(config)])
    assert r.exit_code == 2 and "unknown setting 'raft.fysnc'" in r.output
    r = CliRunner().invoke(master, ["run"])
    assert r.exit_code == 2 and "missing setting name" in r.output and "COX_MASTER_NAME" in r.output
    r = CliRunner().invoke(master, ["run"], env={"COX_MASTER_RUN_LISTEN": "127.0.0.1:1"})
    assert r.exit_code == 2 and "unknown setting in the environment: COX_MASTER_RUN_LISTEN" \
        in r.output
    assert seen == []


def test_the_master_hands_its_sections_and_event_ttl_to_the_parts(tmp_path):
    cfg = MasterConfig(name="m1", listen="127.0.0.1:1", raft_addr="127.0.0.1:2",
                       data_dir=str(tmp_path), token_file="t", cluster_secret_file="s",
                       event_ttl=60,
                       controllers=ControllerConfig(cluster_cidr="10.8.0.0/16"))
    manager = _controller_manager(ObjectStore(MemoryStore()), cfg)
    assert (manager.config.event_ttl, manager.config.cluster_cidr) == (60.0, "10.8.0.0/16")
    init_cluster_dir(tmp_path, masters=["m1"])
    cfg = dataclasses.replace(cfg, listen=f"127.0.0.1:{free_port()}",
                              token_file=str(tmp_path / "tokens.csv"),
                              tls_cert_file=str(tmp_path / "pki" / "m1.crt"),
                              tls_private_key_file=str(tmp_path / "pki" / "m1.key"))
    m = Master(cfg, store_factory=lambda _c: MemoryStore(),
               controller_factory=lambda objects, _c: manager)
    m.start()
    try:
        assert m._api_state.config.event_ttl_seconds == 60
        assert m._api_state.config.name == "m1"
    finally:
        m.stop()


def test_cox_node_run_layers_file_env_and_flags(tmp_path, monkeypatch):
    import docker.errors

    import node.runtime

    seen: list[tuple[str, str]] = []

    def fake_runtime(docker_host: str, network: str) -> None:
        seen.append((docker_host, network))
        raise docker.errors.DockerException("no Docker in a unit test")

    monkeypatch.setattr(node.runtime, "DockerRuntime", fake_runtime)
    for name in [n for n in os.environ if n.startswith("COX_")]:
        monkeypatch.delenv(name)
    token = tmp_path / "token"
    token.write_text("secret\n")
    config = tmp_path / "node.yaml"
    config.write_text(f"name: n1\nmasters: [http://127.0.0.1:6443]\ntoken_file: {token}\n"
                      f"address: 10.0.0.1\ndata_dir: {tmp_path}\npod_network: file-net\n"
                      "docker_host: unix:///file.sock\n")
    r = CliRunner().invoke(node_command, ["run", "--config", str(config), "--pod-network", "flag-net"],
                           env={"COX_NODE_DOCKER_HOST": "unix:///env.sock",
                                "COX_NODE_POD_NETWORK": "env-net"})
    assert r.exit_code == 1 and "cannot reach Docker at unix:///env.sock" in r.output
    assert seen == [("unix:///env.sock", "flag-net")]
    r = CliRunner().invoke(node_command, ["run", "--config", str(config)],
                           env={"COX_NODE_MAX_PODS": "lots"})
    assert r.exit_code == 2 and "max_pods (COX_NODE_MAX_PODS): expected int" in r.output


def test_node_settings_become_the_agent_config():
    s = C.load(NodeRunConfig, env_prefix="COX_NODE_", env={}, flags={
        "name": "n1", "masters": ["http://m:6443"], "token_file": "t", "address": "10.0.0.1",
        "data_dir": "/d", "labels": {"zone": "a"}, "taints": ["gpu=yes:NoSchedule"],
        "run_proxy": False})
    cfg = s.agent_config("tok")
    assert (cfg.node.name, cfg.node.port, cfg.node.labels, cfg.node.max_pods) == (
        "n1", 10250, {"zone": "a"}, 110)
    assert [t.to_obj() for t in cfg.node.taints] == [
        {"key": "gpu", "value": "yes", "effect": "NoSchedule"}]
    assert (cfg.token, cfg.run_proxy, cfg.manage_network, cfg.cluster_cidr, cfg.pod_network,
            cfg.heartbeat_period) == ("tok", False, True, C.CLUSTER_CIDR, "cox-pods", 5.0)
    with pytest.raises(ValueError, match="^taints: "):
        dataclasses.replace(s, taints=["bad"]).agent_config("tok")


# ---- one source of defaults ----

def test_the_pod_and_service_cidrs_and_event_ttl_come_from_one_place():
    assert C.CLUSTER_CIDR == "10.244.0.0/16" and C.SERVICE_CIDR == "10.96.0.0/16"
    assert (ControllerConfig().cluster_cidr == AgentConfig.cluster_cidr
            == C.default_of(NodeRunConfig, "cluster_cidr")
            == ClusterSpec.cluster_cidr == C.CLUSTER_CIDR)
    assert ControllerConfig().service_cidr == ClusterSpec.service_cidr == C.SERVICE_CIDR
    assert (ApiConfig().event_ttl_seconds == ControllerConfig().event_ttl
            == C.default_of(MasterConfig, "event_ttl") == C.EVENT_TTL_SECONDS)


@pytest.mark.parametrize("literal", ["10.244.0.0/16", "10.96.0.0/16"])
def test_a_default_cidr_is_written_in_one_module(literal):
    written = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*/**/*.py")
                     if p.relative_to(ROOT).parts[0] not in ("tests", ".venv")
                     and literal in p.read_text())
    assert written == ["coxapi/config.py"]


def test_docs_list_every_setting_with_its_default():
    doc = (ROOT / "docs" / "config.md").read_text()
    for cls, prefix in ((MasterConfig, "COX_MASTER_"), (NodeRunConfig, "COX_NODE_")):
        for key in C.settings(cls):
            row = re.search(rf"^\| `{re.escape(key)}` \|(.*)$", doc, re.M)
            assert row, f"docs/config.md lacks {key}"
            default = C.default_of(cls, key)
            want = "required" if default is dataclasses.MISSING else f"`{C.shown(default)}`"
            assert want in row.group(1), key
        assert prefix in doc
