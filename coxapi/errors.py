"""The error hierarchy shared by the API server, the clients and the CLI.

Each error maps to an HTTP status code and a Kubernetes ``Status`` reason, so a
store conflict surfaces as ``409 Conflict`` on the wire and as a one-line
message with a distinct exit code in the CLI.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    code: int = 500
    reason: str = "InternalError"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status

    @staticmethod
    def from_status(status: dict[str, Any], http_code: int | None = None) -> ApiError:
        code = int(status.get("code") or http_code or 500)
        reason = status.get("reason") or ""
        message = status.get("message") or f"HTTP {code}"
        cls = _BY_REASON.get(reason) or _BY_CODE.get(code) or ApiError
        err = cls(message, status.get("details"))
        if cls is ApiError:
            err.code, err.reason = code, reason or "Unknown"
        return err

    def __str__(self) -> str:
        return self.message


class BadRequest(ApiError):
    code, reason = 400, "BadRequest"


class Unauthorized(ApiError):
    code, reason = 401, "Unauthorized"


class Forbidden(ApiError):
    code, reason = 403, "Forbidden"


class NotFound(ApiError):
    code, reason = 404, "NotFound"


class MethodNotAllowed(ApiError):
    code, reason = 405, "MethodNotAllowed"


class AlreadyExists(ApiError):
    code, reason = 409, "AlreadyExists"


class Conflict(ApiError):
    code, reason = 409, "Conflict"


class Gone(ApiError):
    code, reason = 410, "Expired"


class RequestEntityTooLarge(ApiError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(ApiError):
    code, reason = 415, "UnsupportedMediaType"


class Invalid(ApiError):
    """Validation failure; ``causes`` name each offending field."""

    code, reason = 422, "Invalid"

    @classmethod
    def fields(cls, kind: str, name: str, causes: list[tuple[str, str]]) -> Invalid:
        text = "; ".join(f"{field}: {msg}" for field, msg in causes)
        return cls(
            f'{kind} "{name}" is invalid: {text}',
            {
                "name": name,
                "kind": kind,
                "causes": [
                    {"reason": "FieldValueInvalid", "field": f, "message": m} for f, m in causes
                ],
            },
        )


class TooManyRequests(ApiError):
    code, reason = 429, "TooManyRequests"

    @classmethod
    def retry_after(cls, message: str, seconds: int) -> TooManyRequests:
        """Kubernetes' answer beyond its in-flight limits: the wait is in
        ``details.retryAfterSeconds`` and the ``Retry-After`` header."""
        return cls(message, {"retryAfterSeconds": seconds})


class InternalError(ApiError):
    code, reason = 500, "InternalError"


class Unavailable(ApiError):
    code, reason = 503, "ServiceUnavailable"


class Timeout(ApiError):
    code, reason = 504, "Timeout"


class OutcomeUnknown(Unavailable):
    """A write reached a server but its outcome is unknown: the connection
    failed or timed out before the answer, or the server answered 503 without
    saying the write was not applied. It may have committed, so the client does
    not send it again: the caller reads back before retrying."""


class ConnectionBroken(Unavailable):
    """A streamed answer (a watch, a followed log) broke off or fell silent
    after it began: the caller starts it again (a watch from its last
    resourceVersion)."""


# The ``details.causes[].reason`` of a 503 refused before anything was written
# (the store was never asked to commit): sending it to another master is safe.
NOT_APPLIED = "NotApplied"


def not_applied(message: str, retry_after: int | None = None) -> Unavailable:
    """``retry_after``: seconds, sent as ``Retry-After`` (details.retryAfterSeconds)."""
    details: dict = {"causes": [
        {"reason": NOT_APPLIED, "message": "the request was refused before it was applied"}]}
    if retry_after is not None:
        details["retryAfterSeconds"] = retry_after
    return Unavailable(message, details)


def is_not_applied(err: ApiError) -> bool:
    return any(isinstance(c, dict) and c.get("reason") == NOT_APPLIED
               for c in (err.details or {}).get("causes") or [])


class ClusterUnreachable(Exception):
    """No API server answered at any of the configured addresses."""


_ALL = [
    BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, AlreadyExists,
    Conflict, Gone, RequestEntityTooLarge, UnsupportedMediaType, Invalid, TooManyRequests, InternalError,
    Unavailable, Timeout,
]
_BY_REASON = {c.reason: c for c in _ALL}
_BY_CODE = {c.code: c for c in _ALL if c not in (AlreadyExists,)}
