"""JSON responses and the mapping of every error to a Kubernetes ``Status``.

No traceback ever reaches a client: unexpected exceptions are logged here
and answered with a 500 ``Status``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from coxapi import errors, kinds
from raftstore import errors as store_errors

from ..objects import translate_store_error

log = logging.getLogger(__name__)

NO_KIND = kinds.Kind("Object", "objects", "", "v1", False)
_HTTP_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                 405: "MethodNotAllowed", 406: "NotAcceptable", 413: "RequestEntityTooLarge",
                 415: "UnsupportedMediaType"}


def json_response(obj: Any, code: int = 200) -> Response:
    return Response(json.dumps(obj, separators=(",", ":")) + "\n", status=code,
                    mimetype="application/json")


def status_parts(err: errors.ApiError) -> tuple[int, list[tuple[str, str]], bytes]:
    """Code, headers and body of the Status answering ``err`` (Flask or not)."""
    headers = [("Content-Type", "application/json")]
    if err.code == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="coxswain"'))
    retry_after = (err.details or {}).get("retryAfterSeconds")
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    return err.code, headers, (json.dumps(err.to_status(), separators=(",", ":")) + "\n").encode()


def status_response(err: errors.ApiError) -> Response:
    code, headers, body = status_parts(err)
    return Response(body, status=code, headers=headers)


def warn(messages: list[str]) -> None:
    """Warnings for the client (``Warning: 299`` headers, as Kubernetes sends
    and kubectl prints)."""
    if messages:
        g.setdefault("warnings", []).extend(messages)


def warning_value(message: str) -> str:
    """The ``Warning`` header that carries one of ``warn``'s messages."""
    text = message.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{text}"'


def register(app: Flask) -> None:
    @app.after_request
    def _warnings(response: Response) -> Response:
        for m in g.get("warnings", []):
            response.headers.add("Warning", warning_value(m))
        return response

    @app.errorhandler(errors.ApiError)
    def _api_error(e: errors.ApiError) -> Response:
        return status_response(e)

    @app.errorhandler(store_errors.StoreError)
    def _store_error(e: store_errors.StoreError) -> Response:
        # Store calls outside ObjectStore (leases, status) map the same way.
        return status_response(translate_store_error(e, NO_KIND, ""))

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Response:
        code = e.code or 500
        err = errors.ApiError(e.description or e.name)
        err.code, err.reason = code, _HTTP_REASONS.get(code, e.name.replace(" ", ""))
        if code == 404:
            err.message = "the server could not find the requested resource"
        return status_response(err)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Response:
        # Log the failure, never the body (it may hold secrets) nor headers (tokens).
        log.exception("internal error serving %s %s", request.method, request.path)
        return status_response(errors.InternalError("an internal error occurred; see the "
                                                    "master's log"))
