"""TokenRequests answered without Flask: ``POST .../serviceaccounts/NAME/token``,
which a node agent makes for every pod it starts (the pod's bound token, as
a kubelet does), through the very steps of the Flask handler
(master.api.resources ``_token``, through master.api.tokenrequest), in the
same order, with the same errors and answer. A dry run goes to Flask.

Nothing is written: the account and the pod are read from this replica's
copies, and the token is signed. So it is answered on the event loop
(``answer_async``), unless a copy must be read through Raft first (this
replica lacks it, or it fails a check only the latest may fail:
raftstore.nonblocking); then it is answered from the start in a worker
thread (``answer``).
"""

from __future__ import annotations

from collections.abc import Mapping

from coxapi import errors

from ..auth import User
from . import params, paths, tokenrequest
from .directcreate import (
    Answer,
    authorize,
    json_answer,
    made_in_a_thread,
    made_on_the_loop,
    mimetype,
)
from .params import request_too_large
from .state import ApiState


def applies(method: str, target: paths.Target | None, query: Mapping[str, str]) -> bool:
    """A POST to a ServiceAccount's token subresource that is not a dry run."""
    return (method == "POST" and target is not None and target.name is not None
            and target.subresource == "token" and target.kind.plural == "serviceaccounts"
            and "dryRun" not in query)


def _token(st: ApiState, user: User, t: paths.Target, raw: bytes,
           content_type: str | None) -> Answer:
    mime = mimetype(content_type)
    authorize(st, user, t, raw, mime)
    limit = st.config.max_body_bytes
    if len(raw) > limit:
        raise errors.RequestEntityTooLarge(request_too_large(limit))
    return json_answer(201, tokenrequest.answer(st, user, t, params.parse_body(raw, mime)))


async def _token_async(st: ApiState, user: User, t: paths.Target, raw: bytes,
                       content_type: str | None) -> Answer:
    return _token(st, user, t, raw, content_type)  # (nothing to await: no write)


async def answer_async(st: ApiState, user: User, path: str, t: paths.Target,
                       query: Mapping[str, str], content_type: str | None,
                       raw: bytes) -> Answer | None:
    """``answer`` on the API's event loop; None when a copy had to be read
    through Raft (the caller then runs ``answer`` in a worker thread)."""
    return await made_on_the_loop("POST", path, user, [], lambda: _token_async(
        st, user, t, raw, content_type))


def answer(st: ApiState, user: User, path: str, t: paths.Target, query: Mapping[str, str],
           content_type: str | None, raw: bytes) -> Answer:
    """The answer to a TokenRequest ``applies`` accepted; errors as the Flask
    app's handlers (master.api.responses) give them."""
    return made_in_a_thread("POST", path, user, [], lambda: _token(
        st, user, t, raw, content_type))
