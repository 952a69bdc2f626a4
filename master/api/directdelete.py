"""DELETEs of one object answered without Flask: what a node agent sends for
every pod it has stopped (``gracePeriodSeconds: 0`` with the pod's uid as a
precondition), and kubectl's and controllers' deletes, through the very
steps of the Flask handler (master.api.resources ``_delete``, through
master.api.deleting), in the same order, with the same errors and answer. A
dry run named in the query goes to Flask.

A delete is made on the event loop (``answer_async``) when this replica's
copy of the object will do for the first try (it meets the preconditions and
the delete writes): the Raft commit is awaited. Otherwise (the object must be
read through Raft, the copy was stale, dependents are to be orphaned, a dry
run in the body) it is made from the start in a worker thread (``answer``).
"""

from __future__ import annotations

from collections.abc import Mapping

from coxapi import errors
from raftstore.nonblocking import WouldBlock

from ..admission import deletion
from ..auth import User
from . import authfacts, authz, deleting, dryrun, params, paths
from .directcreate import Answer, json_answer, made_in_a_thread, made_on_the_loop, mimetype
from .params import request_too_large
from .state import ApiState


def applies(method: str, target: paths.Target | None, query: Mapping[str, str]) -> bool:
    """A DELETE of one object (not of a subresource, not a review), not a dry
    run by its query."""
    return (method == "DELETE" and target is not None and target.name is not None
            and target.subresource is None and not target.kind.strategy.review
            and "dryRun" not in query)


def _options(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str], raw: bytes,
             content_type: str | None) -> tuple[deletion.DeleteOptions, bool]:
    """The caller may delete it: its DeleteOptions, and whether the body asks for a dry run."""
    if authz.MASTERS_GROUP not in user.groups:  # as resources._authorize
        authz.check(user, authz.Request("DELETE", t, None), authfacts.facts(st.objects, t),
                    st.rbac)
    limit = st.config.max_body_bytes
    if len(raw) > limit:
        raise errors.RequestEntityTooLarge(request_too_large(limit))
    body = params.parse_body(raw, mimetype(content_type), allow_empty=True)
    opts = params.delete_options(body, query)
    values = (body or {}).get("dryRun") or []  # as resources._delete_dry_run
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise errors.BadRequest("dryRun: must be a list of strings")
    return opts, dryrun.requested(values)


def _deleted(t: paths.Target, obj: dict, removed: bool) -> Answer:
    return json_answer(200, deleting.answer_body(t, obj, removed))


def _delete(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str], raw: bytes,
            content_type: str | None) -> Answer:
    opts, dry_run = _options(st, user, t, query, raw, content_type)
    obj, removed = deleting.delete_object(st, t.kind, t.namespace, t.object_name, opts, dry_run)
    return _deleted(t, obj, removed)


async def _delete_async(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str],
                        raw: bytes, content_type: str | None) -> Answer:
    opts, dry_run = _options(st, user, t, query, raw, content_type)
    if dry_run:
        raise WouldBlock("a dry run reads the latest through Raft")
    obj, removed = await deleting.delete_object_async(st, t.kind, t.namespace, t.object_name,
                                                      opts)
    return _deleted(t, obj, removed)


async def answer_async(st: ApiState, user: User, path: str, t: paths.Target,
                       query: Mapping[str, str], content_type: str | None,
                       raw: bytes) -> Answer | None:
    """``answer`` on the API's event loop; None when a step would have waited
    (nothing was written): the caller then runs ``answer`` in a worker thread."""
    return await made_on_the_loop("DELETE", path, user, [], lambda: _delete_async(
        st, user, t, query, raw, content_type))


def answer(st: ApiState, user: User, path: str, t: paths.Target, query: Mapping[str, str],
           content_type: str | None, raw: bytes) -> Answer:
    """The answer to a DELETE ``applies`` accepted; errors as the Flask app's
    handlers (master.api.responses) give them."""
    return made_in_a_thread("DELETE", path, user, [], lambda: _delete(
        st, user, t, query, raw, content_type))
