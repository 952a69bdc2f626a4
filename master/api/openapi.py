"""``/openapi/v2`` (JSON, or gnostic protobuf as client-go's ``OpenAPISchema``
asks: coxapi.schema.openapipb) and ``/openapi/v3`` (with one document per
group-version), generated from the kinds' schemas (coxapi.schema.openapi) once
per process."""

from __future__ import annotations

import functools
import hashlib
import json

from flask import Blueprint, Response, request

from coxapi import errors, kinds
from coxapi.schema import openapi, openapipb

from .state import state

_JSON_TYPES = ("application/json", "application/*", "*/*")


@functools.cache
def _encoded_v2(version: str) -> bytes:
    return json.dumps(openapi.v2(version), separators=(",", ":")).encode()


@functools.cache
def _protobuf_v2(version: str) -> bytes:
    return openapipb.encode_v2(openapi.v2(version))


@functools.cache
def _encoded_v3(group_version: str, version: str) -> tuple[bytes, str]:
    body = json.dumps(openapi.v3(group_version, version), separators=(",", ":")).encode()
    return body, hashlib.sha512(body).hexdigest()[:64].upper()


def _accepted(offered: tuple[str, ...]) -> str:
    """The first of ``offered`` the request's Accept names (JSON if it names
    none), or 406: a client is never handed a type it would fail to parse."""
    accept = request.headers.get("Accept")
    if not accept:
        return offered[0]
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    for media in wanted:
        if media in offered:
            return media
        if media in _JSON_TYPES and "application/json" in offered:
            return "application/json"
    raise errors.ApiError.from_status({
        "code": 406, "reason": "NotAcceptable",
        "message": "only the following media types are accepted: " + ", ".join(offered)})


def _document(body: bytes, immutable: bool, media: str = "application/json") -> Response:
    resp = Response(body, content_type=media)
    resp.headers["Cache-Control"] = "public, immutable" if immutable else "no-cache, private"
    return resp


def create_blueprint() -> Blueprint:
    bp = Blueprint("openapi", __name__)

    @bp.get("/openapi/v2")
    def v2() -> Response:
        # client-go's OpenAPISchema() (kubectl's client-side validation of a
        # List's items) asks for protobuf only
        media = _accepted(("application/json", *openapipb.MEDIA_TYPES))
        version = state().config.git_version
        if media == "application/json":
            return _document(_encoded_v2(version), False)
        return _document(_protobuf_v2(version), False, openapipb.CONTENT_TYPE)

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
        _accepted(("application/json",))
        for gv in kinds.group_versions():
            if openapi.group_version_path(gv) == gv_path:
                body, digest = _encoded_v3(gv, state().config.git_version)
                return _document(body, request.args.get("hash") == digest)
        raise errors.NotFound("the server could not find the requested resource")

    return bp
