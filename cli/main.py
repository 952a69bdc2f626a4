"""``cox``: the command line for coxswain, shaped like kubectl.

Built-in commands live in ``cli.commands`` and are imported on first use.
``cox master`` and ``cox node`` come from the ``coxswain.commands`` entry-point
group (the CLI must not import ``master``/``node``); ``cox cluster`` from
``cli.commands.cluster`` (over the ``localcluster`` package). A subcommand
that fails to load is listed as unavailable and reports why when run,
instead of breaking the whole CLI.

Every failure ends as one line on stderr and a distinct exit code
(``cli.errors``); nothing escapes as a traceback.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points
from typing import Any

import click

from .commands.context import CliContext
from .errors import EXIT_CODES_HELP, EXIT_ERROR, CliError, ReportedError, failure_for

ENTRY_POINT_GROUP = "coxswain.commands"
CLUSTER_COMMAND = "cli.commands.cluster:cluster"

BUILTINS: dict[str, str] = {
    "apply": "cli.commands.apply:apply",
    "create": "cli.commands.apply:create",
    "get": "cli.commands.get:get",
    "describe": "cli.commands.describe:describe",
    "delete": "cli.commands.delete:delete",
    "logs": "cli.commands.logs:logs",
    "scale": "cli.commands.scale:scale",
    "rollout": "cli.commands.rollout:rollout",
    "top": "cli.commands.top:top",
    "cordon": "cli.commands.nodes:cordon",
    "uncordon": "cli.commands.nodes:uncordon",
    "drain": "cli.commands.nodes:drain",
}


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _unavailable(name: str, reason: str) -> click.Command:
    def run() -> None:
        raise CliError(f'command "{name}" is unavailable: {reason}')

    return click.Command(name, callback=run, help=f"(unavailable: {reason})",
                         short_help="(unavailable)", add_help_option=False,
                         context_settings={"ignore_unknown_options": True,
                                           "allow_extra_args": True})


def _describe_failure(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())}"


def _cluster_group() -> click.Command | None:
    """The ``cox cluster`` group with ``status`` attached; None if it cannot be loaded."""
    from .commands.cluster_status import status_command

    try:
        group = _load(CLUSTER_COMMAND)
    except Exception:
        return None
    if isinstance(group, click.Group) and "status" not in group.commands:
        group.add_command(status_command, "status")
    return group


class CoxGroup(click.Group):
    """Loads subcommands lazily and turns every exception into one line + exit code."""

    def _plugin_entry_points(self) -> dict[str, Any]:
        try:
            return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        except Exception:
            return {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(BUILTINS) | set(self._plugin_entry_points()) | set(self.commands)
        names.add("cluster" if _cluster_group() is not None else "cluster-status")
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        if name in BUILTINS:
            return _load(BUILTINS[name])
        if name in ("cluster", "cluster-status"):
            group = _cluster_group()
            if group is not None:
                return group if name == "cluster" else group.commands.get("status")
            from .commands.cluster_status import status_command

            return status_command
        ep = self._plugin_entry_points().get(name)
        if ep is None:
            return None
        try:
            cmd = ep.load()
        except Exception as e:
            return _unavailable(name, f"cannot load {ep.value}: {_describe_failure(e)}")
        if not isinstance(cmd, click.Command):
            return _unavailable(name, f"{ep.value} is not a click command")
        return cmd

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
            click.echo(failure.line, err=True)
        sys.exit(failure.exit_code)


if __name__ == "__main__":
    main()
