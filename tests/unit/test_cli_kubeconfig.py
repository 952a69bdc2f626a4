"""The kubeconfig: several masters per cluster, tokens, contexts, namespaces, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cli import kubeconfig

CONFIG = {
    "current-context": "prod",
    "clusters": [
        {"name": "c1", "cluster": {"server": "https://10.0.0.1:6443/",
                                   "x-coxswain-servers": ["https://10.0.0.1:6443",
                                                          "https://10.0.0.2:6443",
                                                          "https://10.0.0.3:6443"]}},
        {"name": "c2", "cluster": {"server": "http://127.0.0.1:6443"}},
    ],
    "users": [{"name": "admin", "user": {"token": "tok-admin"}},
              {"name": "filed", "user": {"tokenFile": "token.txt"}}],
    "contexts": [{"name": "prod", "context": {"cluster": "c1", "user": "admin",
                                              "namespace": "shop"}},
                 {"name": "dev", "context": {"cluster": "c2", "user": "filed"}}],
}


def test_every_master_is_listed_once_server_first() -> None:
    s = kubeconfig.resolve(kubeconfig.parse(CONFIG))
    assert s.servers == ["https://10.0.0.1:6443", "https://10.0.0.2:6443",
                         "https://10.0.0.3:6443"]
    assert s.token == "tok-admin"
    assert s.namespace == "shop"
    assert s.context == "prod"


def test_the_token_never_shows_in_repr() -> None:
    s = kubeconfig.resolve(kubeconfig.parse(CONFIG))
    assert "tok-admin" not in repr(s)


def test_context_override_and_token_file_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text("tok-from-file\n")
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(CONFIG))
    s = kubeconfig.resolve(kubeconfig.load(str(path)), "dev")
    assert s.servers == ["http://127.0.0.1:6443"]
    assert s.token == "tok-from-file"
    assert s.namespace == "default"


def test_kubeconfig_env_list_merges_first_wins(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text(yaml.safe_dump({"clusters": [{"name": "c2", "cluster": {"server": "http://a"}}]}))
    b.write_text(yaml.safe_dump(CONFIG))
    cfg = kubeconfig.load(None, {"KUBECONFIG": f"{a}:{b}:{tmp_path / 'missing'}"})
    assert cfg.current_context == "prod"
    assert cfg.clusters["c2"]["server"] == "http://a"


def test_default_path_and_explicit_path_precedence() -> None:
    assert kubeconfig.paths("/x/cfg", {"KUBECONFIG": "/y"}) == [Path("/x/cfg")]
    assert kubeconfig.paths(None, {"KUBECONFIG": "/y:/z"}) == [Path("/y"), Path("/z")]
    assert kubeconfig.paths(None, {})[0].name == "config"


@pytest.mark.parametrize(("data", "context", "message"), [
    (CONFIG, "nope", 'context "nope" does not exist'),
    ({**CONFIG, "current-context": ""}, None, "no current context"),
    ({**CONFIG, "contexts": [{"name": "x", "context": {"cluster": "zz"}}]}, "x",
     'cluster "zz" does not exist'),
    ({"clusters": "oops"}, None, "clusters must be a list"),
])
def test_bad_kubeconfigs_are_usage_errors(data: dict, context: str | None, message: str) -> None:
    with pytest.raises(kubeconfig.KubeconfigError, match=message) as e:
        kubeconfig.resolve(kubeconfig.parse(data), context)
    assert e.value.exit_code == 2


def test_missing_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(kubeconfig.KubeconfigError, match="no kubeconfig at"):
        kubeconfig.load(str(tmp_path / "nope"))
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n  - name: a\n   bad")
    with pytest.raises(kubeconfig.KubeconfigError, match="invalid YAML: line 2, column 3"):
        kubeconfig.load(str(bad))
