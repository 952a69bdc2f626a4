"""Creates answered without Flask: on the API server's event loop, or in a
worker thread when a step would wait.

A create is the write clients make most (controllers, kubectl, Events); most of
what Flask adds to one (a request context, URL routing, the environ and
``Response`` objects, a second authentication) does nothing for it, and cost
about a fifth of its CPU on the master. This path runs the very steps of the
Flask handler (master.api.resources ``_create``, through master.api.creation),
in the same order, with the same errors, warnings and answer. Anything it does
not answer (a dry run, a request on an object, a review) goes to Flask.

A create whose body is small is made on the event loop (``answer_async``): the
Raft commit is awaited, and no worker thread is woken, blocked and woken again
for it. Every store call that would wait for the log raises ``WouldBlock``
there before it writes (raftstore.nonblocking: a namespace this replica does
not have yet, a quota to charge, a new store lease for Events), and the create is
then made from the start in a worker thread (``answer``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from coxapi import errors
from raftstore import errors as store_errors
from raftstore.nonblocking import WouldBlock, nonblocking

from ..auth import User
from ..objects import translate_store_error
from . import authfacts, authz, creation, fieldvalidation, params, paths, responses
from .params import request_too_large
from .state import ApiState

log = logging.getLogger(__name__)

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
LOOP_BODY_BYTES = 64 * 1024  # a larger create is parsed in a worker thread


def applies(method: str, target: paths.Target | None, query: Mapping[str, str]) -> bool:
    """A POST to a collection that holds objects (not a review), in a
    namespace when the kind is namespaced, that is not a dry run."""
    return (method == "POST" and target is not None and target.name is None
            and target.subresource is None and not target.kind.strategy.review
            and (target.namespace is not None or not target.kind.namespaced)
            and "dryRun" not in query)


def mimetype(content_type: str | None) -> str:
    """As werkzeug's ``Request.mimetype``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def headers(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


def json_answer(status: int, obj: object, extra: list[tuple[str, str]] | None = None) -> Answer:
    """``obj`` as the Flask app answers JSON (compact, a newline), ``extra`` headers after."""
    payload = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    return status, headers([("Content-Type", "application/json"),
                            ("Content-Length", str(len(payload)))] + (extra or [])), payload


def authorize(st: ApiState, user: User, t: paths.Target, raw: bytes, mimetype: str) -> None:
    """As resources._authorize: a POST is judged with its body's name, if any."""
    if authz.MASTERS_GROUP in user.groups:
        return
    try:
        name = authz.body_name(params.parse_body(raw, mimetype))
    except errors.ApiError:
        name = None  # the create below reports the bad body
    authz.check(user, authz.Request("POST", t, name), authfacts.facts(st.objects, t), st.rbac)


def _body(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str], raw: bytes,
          mimetype: str) -> tuple[dict, list[str]]:
    """The caller may create it; the object to create and the field warnings."""
    authorize(st, user, t, raw, mimetype)
    how = fieldvalidation.mode(query)
    limit = st.config.max_body_bytes
    if len(raw) > limit:
        raise errors.RequestEntityTooLarge(request_too_large(limit))
    return creation.object_body(t, params.parse_body(raw, mimetype), how)


def _created(t: paths.Target, stored: dict, warnings: list[str], warned: list[str]) -> Answer:
    return json_answer(201, t.served.from_stored(stored),
                       [("Warning", fieldvalidation.warning_header(w)) for w in warnings]
                       + [("Warning", responses.warning_value(w)) for w in warned])


def _create(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str], raw: bytes,
            mimetype: str, warned: list[str]) -> Answer:
    body, warnings = _body(st, user, t, query, raw, mimetype)
    return _created(t, creation.create_object(st, user, t.kind, body, warned.extend),
                    warnings, warned)


async def _create_async(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str],
                        raw: bytes, mimetype: str, warned: list[str]) -> Answer:
    body, warnings = _body(st, user, t, query, raw, mimetype)
    stored = await creation.create_object_async(st, user, t.kind, body, warned.extend)
    return _created(t, stored, warnings, warned)


def on_the_loop(raw: bytes) -> bool:
    """Whether a create may be tried on the event loop: parsing and checking a
    body this small costs the loop well under a millisecond."""
    return len(raw) <= LOOP_BODY_BYTES


async def answer_async(st: ApiState, user: User, path: str, t: paths.Target,
                       query: Mapping[str, str], content_type: str | None,
                       raw: bytes) -> Answer | None:
    """``answer`` on the API's event loop: no worker thread, the commit awaited.
    None when a step would have waited (raftstore.nonblocking; nothing was
    written): the caller then runs ``answer`` in a worker thread."""
    warned: list[str] = []
    return await made_on_the_loop("POST", path, user, warned, lambda: _create_async(
        st, user, t, query, raw, mimetype(content_type), warned))


def answer(st: ApiState, user: User, path: str, t: paths.Target, query: Mapping[str, str],
           content_type: str | None, raw: bytes) -> Answer:
    """The answer to a create ``applies`` accepted; errors as the Flask app's
    handlers (master.api.responses) give them."""
    warned: list[str] = []
    return made_in_a_thread("POST", path, user, warned, lambda: _create(
        st, user, t, query, raw, mimetype(content_type), warned))


async def made_on_the_loop(method: str, path: str, user: User, warned: list[str],
                           steps: Callable[[], Awaitable[Answer]]) -> Answer | None:
    """What every direct path does around its steps on the event loop: within
    raftstore's ``nonblocking``; None when a step would have waited (nothing
    was written: the caller redoes it in a worker thread); errors answered as
    Flask answers them."""
    try:
        with nonblocking():
            code, hs, payload = await steps()
    except WouldBlock as e:
        log.debug("%s %s: made in a worker thread (%s)", method, path, e)
        return None
    except Exception as e:  # noqa: BLE001 - answered in failed, as Flask would
        return failed(method, path, user, e, warned)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s %d (%s)", method, path, code, user.name)
    return code, hs, payload


def made_in_a_thread(method: str, path: str, user: User, warned: list[str],
                     steps: Callable[[], Answer]) -> Answer:
    """``made_on_the_loop`` for a worker thread, where a step may wait."""
    try:
        code, hs, payload = steps()
    except Exception as e:  # noqa: BLE001 - answered in failed, as Flask would
        return failed(method, path, user, e, warned)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s %d (%s)", method, path, code, user.name)
    return code, hs, payload


def failed(method: str, path: str, user: User, error: Exception, warned: list[str]) -> Answer:
    """The answer to a write that failed, as the Flask app's handlers give it
    (Pod Security's warnings go with an error too, as Flask's after_request)."""
    if isinstance(error, errors.ApiError):
        code, text_headers, payload = responses.status_parts(error)
        text_headers = text_headers + [("Warning", responses.warning_value(w)) for w in warned]
    elif isinstance(error, store_errors.StoreError):
        code, text_headers, payload = responses.status_parts(
            translate_store_error(error, responses.NO_KIND, ""))
    else:  # logged; no traceback reaches a client
        log.error("internal error serving %s %s", method, path, exc_info=error)
        code, text_headers, payload = responses.status_parts(errors.InternalError(
            "an internal error occurred; see the master's log"))
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s %d (%s)", method, path, code, user.name)
    return code, headers(text_headers), payload
