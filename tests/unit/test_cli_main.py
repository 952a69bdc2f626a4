"""The `cox` group: lazy subcommands from entry points, error mapping, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

from cli import main as cli_main
from cli.errors import failure_for
from coxapi import errors as api
from coxapi.kinds import UnknownKind

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_commands_and_documents_exit_codes() -> None:
    r = CliRunner().invoke(cli_main.cox, ["--help"])
    assert r.exit_code == 0
    for name in ("apply", "get", "describe", "delete", "logs", "scale", "rollout", "top",
                 "cordon", "drain", "cluster"):
        assert f"  {name} " in r.stdout
    assert "Exit codes:" in r.stdout and "3  not found" in r.stdout


class FakeEntryPoint(SimpleNamespace):
    def load(self) -> object:
        return self.loader()


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, **loaders: object) -> None:
    eps = [FakeEntryPoint(name=n, value=f"{n}.command:{n}", loader=fn) for n, fn in loaders.items()]
    monkeypatch.setattr(cli_main, "entry_points", lambda group: eps)


def test_entry_point_commands_are_loaded_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = []

    @click.command()
    def hello() -> None:
        click.echo("hello from a plugin")

    def load() -> click.Command:
        loaded.append(True)
        return hello

    fake_entry_points(monkeypatch, master=load)
    r = CliRunner().invoke(cli_main.cox, ["master"])
    assert (r.exit_code, r.stdout) == (0, "hello from a plugin\n")
    assert loaded == [True]


def test_a_command_group_that_fails_to_import_fails_loudly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken build is not hidden: the ImportError propagates, naming the command."""
    def broken() -> None:
        raise ImportError("No module named 'docker'")

    fake_entry_points(monkeypatch, node=broken)
    group = cli_main.cox
    with pytest.raises(ImportError, match=r'cannot load command "node" from node.command:node: '
                                          r"No module named 'docker'") as e:
        group.get_command(click.Context(group), "node")
    assert isinstance(e.value.__cause__, ImportError)


def test_a_broken_build_exits_1_with_the_import_error_on_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> None:
        raise ImportError("No module named 'docker'")

    fake_entry_points(monkeypatch, node=broken)
    for argv in (["node", "run"], ["--help"]):
        with pytest.raises(SystemExit) as e:
            cli_main.main(argv)
        assert e.value.code == 1
        assert capsys.readouterr().err == (
            'error: internal error: ImportError: cannot load command "node" from '
            "node.command:node: No module named 'docker'\n")


def test_a_cluster_group_that_fails_to_import_fails_loudly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main, "CLUSTER_COMMAND", "cli.no_such_module:cluster")
    with pytest.raises(ImportError, match='cannot load command "cluster" from '
                                          "cli.no_such_module:cluster: No module named"):
        cli_main.cox.get_command(click.Context(cli_main.cox), "cluster")
    r = CliRunner().invoke(cli_main.cox, ["--help"])
    assert r.exit_code != 0 and "cluster-status" not in r.stdout


def test_main_never_shows_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    def explode(*a: object, **k: object) -> None:
        raise RuntimeError("unexpected\nmulti-line")

    monkeypatch.setattr(cli_main.cox, "main", explode)
    with pytest.raises(SystemExit) as e:
        cli_main.main(["get", "po"])
    assert e.value.code == 1
    assert capsys.readouterr().err == "error: internal error: RuntimeError: unexpected multi-line\n"


def test_usage_errors_exit_2() -> None:
    r = CliRunner().invoke(cli_main.cox, ["get", "po", "-o", "xml"])
    assert r.exit_code == 2
    r = CliRunner().invoke(cli_main.cox, ["frobnicate"])
    assert r.exit_code == 2


@pytest.mark.parametrize(("exc", "line", "code"), [
    (api.NotFound('pods "x" not found'), 'Error from server (NotFound): pods "x" not found', 3),
    (api.Unauthorized("token rejected"),
     "error: You must be logged in to the server (Unauthorized)", 5),
    (api.Forbidden("no"), "Error from server (Forbidden): no", 5),
    (api.Conflict("the object has been modified"),
     "Error from server (Conflict): the object has been modified", 1),
    (api.Invalid.fields("Deployment", "web", [("spec.replicas", "must be >= 0")]),
     'Error from server (Invalid): Deployment "web" is invalid: spec.replicas: must be >= 0', 1),
    (api.Invalid("bad", {"causes": [{"field": "spec.x", "message": "required"}]}),
     "Error from server (Invalid): bad: spec.x: required", 1),
    (api.Unavailable("no leader"), "Error from server (ServiceUnavailable): no leader", 4),
    (UnknownKind("foo"), 'error: the server doesn\'t have a resource type "foo"', 2),
    (KeyboardInterrupt(), "", 130),
    (ValueError("x"), "error: internal error: ValueError: x", 1),
])
def test_every_exception_class_maps_to_one_line_and_a_code(exc: BaseException, line: str,
                                                           code: int) -> None:
    f = failure_for(exc)
    assert (f.line, f.exit_code) == (line, code)


def test_unreachable_line_names_addresses_and_short_reason() -> None:
    detail = ("no API server answered (http://a:1, http://b:2): HTTPConnectionPool(host='b', "
              "port=2): Max retries exceeded (Caused by NewConnectionError('<x>: Failed to "
              "establish a new connection: [Errno 111] Connection refused'))")
    f = failure_for(api.ClusterUnreachable(detail), ["http://a:1", "http://b:2"])
    assert f.line == ("error: unable to connect to the cluster: tried http://a:1, http://b:2 "
                      "(connection refused)")
    assert f.exit_code == 4


@pytest.mark.parametrize("module", ["cli", "cli.main"])
def test_runs_as_a_module(module: str) -> None:
    r = subprocess.run([sys.executable, "-m", module, "rollout", "--help"], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "undo" in r.stdout
