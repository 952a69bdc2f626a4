"""How the CLI reports failures: one line on stderr and an exit code per class.

Every exception that reaches the top of ``cox`` is turned into a ``Failure``
(message + exit code) by ``failure_for``; the mapping is pure so it can be
tested without running a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import click

from coxapi import errors as api
from coxapi.kinds import UnknownKind
from coxapi.labels import SelectorError

# Exit codes (documented in ``cox --help``).
EXIT_ERROR = 1  # generic failure, error from the server
EXIT_USAGE = 2  # bad flags, arguments, manifests, kind names or kubeconfig
EXIT_NOT_FOUND = 3  # the object does not exist
EXIT_UNREACHABLE = 4  # no master answered (or none had a quorum)
EXIT_UNAUTHORIZED = 5  # token refused (401) or not allowed (403)
EXIT_TIMEOUT = 6  # a wait (rollout status, drain, delete) timed out
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  error (from the server, or any other failure)
  2  usage: bad flags, arguments, manifests, kind names or kubeconfig
  3  not found
  4  cluster unreachable (no master answered) or unavailable
  5  unauthorized (token refused) or forbidden
  6  timed out waiting (rollout status, drain, delete --wait)"""


class CliError(click.ClickException):
    """A failure the CLI reports as ``error: <message>`` with an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        # click declares exit_code a ClassVar, yet reads it per instance
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(printable(self.format_line()), err=True)

    def format_line(self) -> str:
        return f"error: {self.message}"


class ReportedError(CliError):
    """A failure whose message is already in its final form (kubectl wording)."""

    def format_line(self) -> str:
        return self.message


class UsageFailure(CliError):
    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class TimedOut(CliError):
    def __init__(self, message: str = "timed out waiting for the condition") -> None:
        super().__init__(message, EXIT_TIMEOUT)


@dataclass(frozen=True)
class Failure:
    line: str  # the full line printed on stderr
    exit_code: int


def api_error_line(err: api.ApiError) -> str:
    """kubectl's wording for an error the server returned."""
    if isinstance(err, api.Unauthorized):
        return "error: You must be logged in to the server (Unauthorized)"
    message = err.message
    causes = [c for c in (err.details or {}).get("causes") or [] if isinstance(c, dict)]
    missing = [c for c in causes if c.get("field") and c["field"] not in message]
    if missing:
        message += ": " + "; ".join(f"{c['field']}: {c.get('message', '')}" for c in missing)
    return f"Error from server ({err.reason or 'Unknown'}): {one_line(message)}"


def api_error_code(err: api.ApiError) -> int:
    if isinstance(err, api.NotFound):
        return EXIT_NOT_FOUND
    if isinstance(err, api.Unauthorized | api.Forbidden):
        return EXIT_UNAUTHORIZED
    if isinstance(err, api.Unavailable):
        return EXIT_UNREACHABLE
    return EXIT_ERROR


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_CERT = re.compile(r"certificate verify failed: (.+?)\.? \(_ssl")


def connection_problem(detail: str) -> str:
    """A short reason from a (long) requests/urllib3 connection error text."""
    m = _CERT.search(detail)
    if m:
        return f"TLS certificate verify failed: {m.group(1).strip()}"
    m = _ERRNO.search(detail)
    if m:
        return m.group(1).strip().lower()
    if "timed out" in detail.lower():
        return "timed out"
    return "no answer"


def unreachable_line(servers: list[str], detail: str) -> str:
    """Name every address tried and, briefly, why the last one failed."""
    tried = ", ".join(servers) if servers else "(no servers configured)"
    return f"error: unable to connect to the cluster: tried {tried} ({connection_problem(detail)})"


def one_line(text: str) -> str:
    return printable(" ".join(str(text).split()))


def printable(text: str) -> str:
    """``text`` with what would break the line or drive the terminal (a newline,
    an escape sequence: a manifest's or the server's words may hold any) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def failure_for(exc: BaseException, servers: list[str] | None = None) -> Failure:
    """Map any exception to the line and exit code the CLI reports."""
    if isinstance(exc, CliError):
        return Failure(exc.format_line(), exc.exit_code)
    if isinstance(exc, api.ApiError):
        return Failure(api_error_line(exc), api_error_code(exc))
    if isinstance(exc, api.ClusterUnreachable):
        return Failure(unreachable_line(servers or [], str(exc)), EXIT_UNREACHABLE)
    if isinstance(exc, UnknownKind):
        return Failure(f"error: {exc}", EXIT_USAGE)
    if isinstance(exc, SelectorError):
        return Failure(f"error: {one_line(str(exc))}", EXIT_USAGE)
    if isinstance(exc, KeyboardInterrupt):
        return Failure("", EXIT_INTERRUPTED)
    return Failure(
        f"error: internal error: {type(exc).__name__}: {one_line(str(exc))}", EXIT_ERROR
    )
