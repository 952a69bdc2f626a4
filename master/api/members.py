"""The Raft membership, for admins: ``GET /raft/members``, ``POST
/raft/members`` (``{"address": "HOST:RAFTPORT"}``, optionally ``"catchUpSeconds"``: add a master that is
already running with ``--peer`` flags naming the current members) and
``DELETE /raft/members/HOST:RAFTPORT``. Non-resource URLs: the default
cluster-admin role may, no other default role may. Only the leader changes
the membership; another master answers 503 naming the leader (and the client
moves on to the next master)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from coxapi import errors
from raftstore.memberops import CATCH_UP_TIMEOUT
from raftstore.membership import MembershipError, NotLeader

from .responses import json_response
from .state import state

PATH = "/raft/members"


def _membership() -> Any:
    membership = getattr(state().store, "membership", None)
    if membership is None:
        raise errors.NotFound("this master's store has no Raft membership (an in-memory store)")
    return membership


def api_error(e: MembershipError) -> errors.ApiError:
    """The Status a refused change answers with; nothing was changed."""
    if isinstance(e, NotLeader):
        err = errors.not_applied(str(e), retry_after=1)
        err.details["leader"] = e.leader
        return err
    cls = {400: errors.BadRequest, 404: errors.NotFound}.get(e.status, errors.Conflict)
    return cls(str(e))


def _address(body: Any) -> str:
    """The address of a change; ``body`` must be a dict (else 400)."""
    if not isinstance(body, dict):
        raise errors.BadRequest("the body must be a JSON object with an address")
    address = body.get("address")
    if not isinstance(address, str) or not address:
        raise errors.BadRequest("address: required, HOST:RAFTPORT of the new master")
    return address


def _catch_up_seconds(body: Any) -> float:
    value = body.get("catchUpSeconds", CATCH_UP_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 600:
        raise errors.BadRequest("catchUpSeconds: a number of seconds in (0, 600]")
    return float(value)


def create_blueprint() -> Blueprint:
    bp = Blueprint("members", __name__)

    @bp.get(PATH)
    def members() -> Response:
        return json_response(_membership().view())

    @bp.post(PATH)
    def add() -> Response:
        membership = _membership()
        body = request.get_json(silent=True)
        address = _address(body)
        seconds = _catch_up_seconds(body)  # a dict: _address checked
        try:
            return json_response(membership.add(address, seconds), 201)
        except MembershipError as e:
            raise api_error(e) from None

    @bp.delete(PATH + "/<path:address>")
    def remove(address: str) -> Response:
        membership = _membership()
        try:
            return json_response(membership.remove(address))
        except MembershipError as e:
            raise api_error(e) from None

    return bp
