"""Creates answered without Flask, in the API server's worker thread.

A create is the write clients make most (controllers, kubectl, Events); most of
what Flask adds to one (a request context, URL routing, the environ and
``Response`` objects, a second authentication) does nothing for it, and cost
about a fifth of its CPU on the master. This path runs the very steps of the
Flask handler (master.api.resources ``_create``, through master.api.creation),
in the same order, with the same errors, warnings and answer. Anything it does
not answer (a dry run, a request on an object, a review) goes to Flask.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from coxapi import errors
from raftstore import errors as store_errors

from ..auth import User
from ..objects import translate_store_error
from . import authfacts, authz, creation, fieldvalidation, params, paths, responses
from .params import request_too_large
from .state import ApiState

log = logging.getLogger(__name__)

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def applies(method: str, target: paths.Target | None, query: Mapping[str, str]) -> bool:
    """A POST to a collection that holds objects (not a review), in a
    namespace when the kind is namespaced, that is not a dry run."""
    return (method == "POST" and target is not None and target.name is None
            and target.subresource is None and not target.kind.strategy.review
            and (target.namespace is not None or not target.kind.namespaced)
            and "dryRun" not in query)


def _mimetype(content_type: str | None) -> str:
    """As werkzeug's ``Request.mimetype``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _headers(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


def _authorize(st: ApiState, user: User, t: paths.Target, raw: bytes, mimetype: str) -> None:
    """As resources._authorize: a POST is judged with its body's name, if any."""
    if authz.MASTERS_GROUP in user.groups:
        return
    try:
        name = authz.body_name(params.parse_body(raw, mimetype))
    except errors.ApiError:
        name = None  # the create below reports the bad body
    authz.check(user, authz.Request("POST", t, name), authfacts.facts(st.objects, t), st.rbac)


def _create(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str], raw: bytes,
            mimetype: str, warned: list[str]) -> Answer:
    _authorize(st, user, t, raw, mimetype)
    how = fieldvalidation.mode(query)
    limit = st.config.max_body_bytes
    if len(raw) > limit:
        raise errors.RequestEntityTooLarge(request_too_large(limit))
    body, warnings = creation.object_body(t, params.parse_body(raw, mimetype), how)
    obj = t.served.from_stored(creation.create_object(st, user, t.kind, body, warned.extend))
    payload = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    return 201, _headers(
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        + [("Warning", fieldvalidation.warning_header(w)) for w in warnings]
        + [("Warning", responses.warning_value(w)) for w in warned]), payload


def answer(st: ApiState, user: User, path: str, t: paths.Target, query: Mapping[str, str],
           content_type: str | None, raw: bytes) -> Answer:
    """The answer to a create ``applies`` accepted; errors as the Flask app's
    handlers (master.api.responses) give them."""
    warned: list[str] = []  # Pod Security's, sent with an error too (as Flask's after_request)
    try:
        code, headers, payload = _create(st, user, t, query, raw, _mimetype(content_type), warned)
    except errors.ApiError as e:
        code, text_headers, payload = responses.status_parts(e)
        headers = _headers(text_headers + [("Warning", responses.warning_value(w))
                                           for w in warned])
    except store_errors.StoreError as e:
        code, text_headers, payload = responses.status_parts(
            translate_store_error(e, responses.NO_KIND, ""))
        headers = _headers(text_headers)
    except Exception:  # noqa: BLE001 - logged; no traceback reaches a client
        log.exception("internal error serving POST %s", path)
        code, text_headers, payload = responses.status_parts(errors.InternalError(
            "an internal error occurred; see the master's log"))
        headers = _headers(text_headers)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("POST %s %d (%s)", path, code, user.name)
    return code, headers, payload
