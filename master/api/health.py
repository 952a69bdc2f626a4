"""Health and Raft status: ``/healthz``, ``/livez``, ``/readyz``, ``/status/raft``.

Ready means this replica can serve: the store reaches a leader with a quorum
and has applied what it knows to be committed (within ``ready_max_lag`` entries).
"""

from __future__ import annotations

from flask import Blueprint, Response

from .responses import json_response
from .state import state
from .storehealth import readiness


def _text(body: str, code: int = 200) -> Response:
    return Response(body + "\n", status=code, mimetype="text/plain")


def create_blueprint() -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    @bp.get("/livez")
    def live() -> Response:
        return _text("ok")

    @bp.get("/readyz")
    def ready() -> Response:
        st = state()
        if st.stopping.is_set():
            return _text("shutting down", 503)
        try:
            reason = readiness(st.store.status(), st.config.ready_max_lag)
        except Exception as e:  # noqa: BLE001 - readiness must answer, not fail
            reason = f"the store cannot report its status: {type(e).__name__}"
        return _text(f"not ready: {reason}", 503) if reason else _text("ok")

    @bp.get("/status/raft")
    def raft() -> Response:
        st = state()
        return json_response({"name": st.config.name, **st.store.status()})

    return bp
