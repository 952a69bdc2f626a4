"""Status writes answered without Flask: ``PUT .../NAME/status``, the write a
node agent makes for every pod it runs (and controllers for their objects),
in a worker thread, through the very steps of the Flask handler
(master.api.resources ``_update``, through master.api.updating), in the same
order, with the same errors, warnings and answer. A dry run goes to Flask.

It stays in a worker thread: the object it updates is read through Raft when
this replica's copy is not the version the writer names.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from coxapi import errors

from ..auth import User
from . import authfacts, authz, creation, fieldvalidation, params, paths, updating
from .directcreate import Answer, failed, headers, mimetype
from .params import request_too_large
from .state import ApiState

log = logging.getLogger(__name__)


def applies(method: str, target: paths.Target | None, query: Mapping[str, str]) -> bool:
    """A PUT on an object's status subresource that is not a dry run."""
    return (method == "PUT" and target is not None and target.name is not None
            and target.subresource == "status" and not target.kind.strategy.review
            and "dryRun" not in query)


def _update(st: ApiState, user: User, t: paths.Target, query: Mapping[str, str], raw: bytes,
            content_type: str | None) -> Answer:
    if authz.MASTERS_GROUP not in user.groups:  # as resources._authorize
        authz.check(user, authz.Request("PUT", t, None), authfacts.facts(st.objects, t),
                    st.rbac)
    how = fieldvalidation.mode(query)
    limit = st.config.max_body_bytes
    if len(raw) > limit:
        raise errors.RequestEntityTooLarge(request_too_large(limit))
    body, warnings = creation.object_body(t, params.parse_body(raw, mimetype(content_type)), how)
    cur = updating.current(st, t, body)
    new = updating.prepare(t, cur, body)
    obj = t.served.from_stored(updating.commit(st, user, t.kind, cur, new))
    payload = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    return 200, headers(
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        + [("Warning", fieldvalidation.warning_header(w)) for w in warnings]), payload


def answer(st: ApiState, user: User, path: str, t: paths.Target, query: Mapping[str, str],
           content_type: str | None, raw: bytes) -> Answer:
    """The answer to a status write ``applies`` accepted; errors as the Flask
    app's handlers (master.api.responses) give them."""
    try:
        code, hs, payload = _update(st, user, t, query, raw, content_type)
    except Exception as e:  # noqa: BLE001 - answered in failed, as Flask would
        return failed("PUT", path, user, e, [])
    if log.isEnabledFor(logging.DEBUG):
        log.debug("PUT %s %d (%s)", path, code, user.name)
    return code, hs, payload
