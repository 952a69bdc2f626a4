"""``/openapi/v2`` and ``/openapi/v3`` (with one document per group-version),
generated from the kinds' schemas (coxapi.schema.openapi) once per process."""

from __future__ import annotations

import functools
import hashlib
import json

from flask import Blueprint, Response, request

from coxapi import errors, kinds
from coxapi.schema import openapi

from .state import state

_JSON_TYPES = ("application/json", "application/*", "*/*")


@functools.cache
def _encoded_v2(version: str) -> bytes:
    return json.dumps(openapi.v2(version), separators=(",", ":")).encode()


@functools.cache
def _encoded_v3(group_version: str, version: str) -> tuple[bytes, str]:
    body = json.dumps(openapi.v3(group_version, version), separators=(",", ":")).encode()
    return body, hashlib.sha512(body).hexdigest()[:64].upper()


def _check_accept() -> None:
    """JSON only: a client that accepts only protobuf (client-go's OpenAPI v2
    getter) is told so, rather than handed JSON it would fail to parse."""
    accept = request.headers.get("Accept")
    if accept and not any(part.split(";")[0].strip().lower() in _JSON_TYPES
                          for part in accept.split(",")):
        raise errors.ApiError.from_status({
            "code": 406, "reason": "NotAcceptable",
            "message": "only the following media types are accepted: application/json"})


def _document(body: bytes, immutable: bool) -> Response:
    resp = Response(body, mimetype="application/json")
    resp.headers["Cache-Control"] = "public, immutable" if immutable else "no-cache, private"
    return resp


def create_blueprint() -> Blueprint:
    bp = Blueprint("openapi", __name__)

    @bp.get("/openapi/v2")
    def v2() -> Response:
        _check_accept()
        return _document(_encoded_v2(state().config.git_version), False)

    @bp.get("/openapi/v3")
    def v3_index() -> Response:
        version = state().config.git_version
        paths = {}
        for gv in kinds.group_versions():
            path = openapi.group_version_path(gv)
            paths[path] = {"serverRelativeURL":
                           f"/openapi/v3/{path}?hash={_encoded_v3(gv, version)[1]}"}
        return _document(json.dumps({"paths": paths}).encode(), False)

    @bp.get("/openapi/v3/<path:gv_path>")
    def v3(gv_path: str) -> Response:
        _check_accept()
        for gv in kinds.group_versions():
            if openapi.group_version_path(gv) == gv_path:
                body, digest = _encoded_v3(gv, state().config.git_version)
                return _document(body, request.args.get("hash") == digest)
        raise errors.NotFound("the server could not find the requested resource")

    return bp
