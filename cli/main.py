"""``cox``: the command line for coxswain, shaped like kubectl.

Built-in commands live in ``cli.commands`` and are imported on first use.
``cox master`` and ``cox node`` come from the ``coxswain.commands`` entry-point
group (the CLI must not import ``master``/``node``); ``cox cluster`` from
``cli.commands.cluster`` (over the ``localcluster`` package). A subcommand
that fails to import is a broken build: the ImportError propagates (naming
the command and its module) instead of the command being quietly left out.

Every failure ends as one line on stderr and a distinct exit code
(``cli.errors``); nothing escapes as a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import click

from .commands.context import CliContext
from .errors import EXIT_CODES_HELP, EXIT_ERROR, CliError, ReportedError, failure_for, printable

ENTRY_POINT_GROUP = "coxswain.commands"
CLUSTER_COMMAND = "cli.commands.cluster:cluster"

BUILTINS: dict[str, str] = {
    "apply": "cli.commands.apply:apply",
    "create": "cli.commands.apply:create",
    "get": "cli.commands.get:get",
    "describe": "cli.commands.describe:describe",
    "delete": "cli.commands.delete:delete",
    "logs": "cli.commands.logs:logs",
    "exec": "cli.commands.exec_:exec_",
    "cp": "cli.commands.cp:cp",
    "port-forward": "cli.commands.portforward:port_forward",
    "scale": "cli.commands.scale:scale",
    "autoscale": "cli.commands.autoscale:autoscale",
    "rollout": "cli.commands.rollout:rollout",
    "top": "cli.commands.top:top",
    "cordon": "cli.commands.nodes:cordon",
    "uncordon": "cli.commands.nodes:uncordon",
    "drain": "cli.commands.nodes:drain",
    "secrets": "cli.commands.secrets:secrets",
}


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _command(name: str, target: str, load: Callable[[], Any]) -> click.Command:
    try:
        cmd = load()
    except ImportError as e:
        raise ImportError(f'cannot load command "{name}" from {target}: {e}') from e
    if not isinstance(cmd, click.Command):
        raise ImportError(f'command "{name}": {target} is not a click command')
    return cmd


def _cluster_group() -> click.Command:
    """``cli.commands.cluster``'s group with ``status`` attached."""
    from .commands.cluster_status import status_command

    group = _command("cluster", CLUSTER_COMMAND, lambda: _load(CLUSTER_COMMAND))
    if isinstance(group, click.Group) and "status" not in group.commands:
        group.add_command(status_command, "status")
    return group


class CoxGroup(click.Group):
    """Loads subcommands lazily and turns every exception into one line + exit code."""

    def _plugin_entry_points(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(BUILTINS) | set(self._plugin_entry_points()) | set(self.commands)
                      | {"cluster"})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        if name in BUILTINS:
            return _command(name, BUILTINS[name], lambda: _load(BUILTINS[name]))
        if name == "cluster":
            return _cluster_group()
        ep = self._plugin_entry_points().get(name)
        if ep is None:
            return None
        return _command(name, ep.value, ep.load)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.UsageError, CliError):
            raise
        except click.ClickException as e:
            raise CliError(e.format_message(), e.exit_code) from None
        except BrokenPipeError:
            # The reader went away (``cox get po | head``): not an error worth a message.
            raise click.exceptions.Exit(EXIT_ERROR) from None
        except (Exception, KeyboardInterrupt) as e:
            obj = ctx.find_object(CliContext)
            failure = failure_for(e, obj.known_servers if obj else None)
            if not failure.line:
                raise click.exceptions.Exit(failure.exit_code) from None
            raise ReportedError(failure.line, failure.exit_code) from None


@click.group(cls=CoxGroup, epilog=EXIT_CODES_HELP,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--kubeconfig", metavar="FILE", default=None,
              help="Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
@click.option("--context", "context_name", metavar="NAME", default=None,
              help="Kubeconfig context to use (default: current-context).")
@click.option("-n", "--namespace", default=None, metavar="NS",
              help="Namespace for this request (default: the context's namespace).")
@click.option("-s", "--server", "servers", multiple=True, metavar="URL",
              help="API server address, overriding the kubeconfig's (repeat for failover).")
@click.option("--request-timeout", default=10.0, type=click.FloatRange(0.1), show_default=True,
              help="Seconds to wait for each API response.")
@click.pass_context
def cox(ctx: click.Context, kubeconfig: str | None, context_name: str | None,
        namespace: str | None, servers: tuple[str, ...], request_timeout: float) -> None:
    """cox controls a coxswain cluster, the way kubectl controls Kubernetes.

    \b
    Examples:
      cox apply -f web.yaml
      cox get pods -o wide
      cox rollout status deploy/web
      cox cluster status
    """
    # Tests may pass a CliContext (with a fake clock) as ``obj``; fill it in.
    cli = ctx.obj if isinstance(ctx.obj, CliContext) else CliContext()
    cli.kubeconfig_path, cli.context_name, cli.namespace = kubeconfig, context_name, namespace
    cli.servers_override, cli.timeout = list(servers), request_timeout
    ctx.obj = cli


def main(argv: list[str] | None = None) -> None:
    """Console entry point: ``cox = cli.main:main``."""
    try:
        cox.main(args=argv, prog_name="cox")
    except SystemExit:
        raise
    except BaseException as e:  # the last line of defence: still no traceback
        failure = failure_for(e)
        if failure.line:
            click.echo(printable(failure.line), err=True)
        sys.exit(failure.exit_code)


if __name__ == "__main__":
    main()
