"""Status writes answered without Flask: ``PUT .../NAME/status``, the write a
node agent makes for every pod it runs (and controllers for their objects),
through the very steps of the Flask handler (master.api.resources ``_update``,
through master.api.updating), in the same order, with the same errors,
warnings and answer. A dry run goes to Flask.

A status write is made on the event loop (``answer_async``) when this
replica's copy of the object is the version the writer names, as a node
agent's usually is: the Raft commit is awaited. When the object must be read
through Raft first (no version named, or another one), or a step would wait
for the log otherwise (raftstore.nonblocking), it is made from the start in a
worker thread (``answer``).
"""

from __future__ import annotations

from collections.abc import Mapping

from coxapi import errors

from ..auth import User
from . import authfacts, authz, creation, fieldvalidation, params, paths, updating
from .directcreate import Answer, json_answer, made_in_a_thread, made_on_the_loop, mimetype
from .params import request_too_large
from .state import ApiState


def applies(method: str, target: paths.Target | None, query: Mapping[str, str]) -> bool:
    """A PUT on an object's status subresource that is not a dry run."""
    return (method == "PUT" and target is not None and target.name is not None
            and target.subresource == "status" and not target.kind.strategy.review
            and "dryRun" not in query)


def _body(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str], raw: bytes,
          content_type: str | None) -> tuple[dict, list[str]]:
    """The caller may write it; the object written and the field warnings."""
    if authz.MASTERS_GROUP not in user.groups:  # as resources._authorize
        authz.check(user, authz.Request("PUT", t, None), authfacts.facts(st.objects, t),
                    st.rbac)
    how = fieldvalidation.mode(query)
    limit = st.config.max_body_bytes
    if len(raw) > limit:
        raise errors.RequestEntityTooLarge(request_too_large(limit))
    return creation.object_body(t, params.parse_body(raw, mimetype(content_type)), how)


def _updated(t: paths.Target, stored: dict, warnings: list[str]) -> Answer:
    return json_answer(200, t.served.from_stored(stored),
                       [("Warning", fieldvalidation.warning_header(w)) for w in warnings])


def _update(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str], raw: bytes,
            content_type: str | None) -> Answer:
    body, warnings = _body(st, user, t, query, raw, content_type)
    cur = updating.current(st, t, body)
    new = updating.prepare(t, cur, body)
    return _updated(t, updating.commit(st, user, t.kind, cur, new), warnings)


async def _update_async(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str],
                        raw: bytes, content_type: str | None) -> Answer:
    body, warnings = _body(st, user, t, query, raw, content_type)
    cur = updating.current(st, t, body)  # WouldBlock unless this replica's copy will do
    new = updating.prepare(t, cur, body)
    return _updated(t, await updating.commit_async(st, user, t.kind, cur, new), warnings)


async def answer_async(st: ApiState, user: User, path: str, t: paths.Target,
                       query: Mapping[str, str], content_type: str | None,
                       raw: bytes) -> Answer | None:
    """``answer`` on the API's event loop; None when a step would have waited
    (nothing was written): the caller then runs ``answer`` in a worker thread."""
    return await made_on_the_loop("PUT", path, user, [], lambda: _update_async(
        st, user, t, query, raw, content_type))


def answer(st: ApiState, user: User, path: str, t: paths.Target, query: Mapping[str, str],
           content_type: str | None, raw: bytes) -> Answer:
    """The answer to a status write ``applies`` accepted; errors as the Flask
    app's handlers (master.api.responses) give them."""
    return made_in_a_thread("PUT", path, user, [], lambda: _update(
        st, user, t, query, raw, content_type))
