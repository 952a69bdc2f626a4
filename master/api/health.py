"""Health and Raft status: ``/healthz``, ``/livez``, ``/readyz``, ``/status/raft``.

Ready means this replica can serve: the store reaches a leader with a quorum
and has applied what it knows to be committed (within ``ready_max_lag`` entries).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from .responses import json_response
from .state import ApiState, state
from .storehealth import alarm_note, readiness

HEALTH_PATHS = frozenset({"/healthz", "/livez", "/readyz"})


def answer(path: str, st: ApiState) -> tuple[int, str]:
    """The status code and text of a health path (one of HEALTH_PATHS). The
    server answers these on its event loop, so they answer while every worker
    thread is busy."""
    if path != "/readyz":
        return 200, "ok"
    if st.stopping.is_set():
        return 503, "shutting down"
    note = None
    try:
        status = st.store.status()
        reason, note = readiness(status, st.config.ready_max_lag), alarm_note(status)
    except Exception as e:  # noqa: BLE001 - readiness must answer, not fail
        reason = f"the store cannot report its status: {type(e).__name__}"
    if reason:
        return 503, f"not ready: {reason}"
    return 200, f"ok\n{note}" if note else "ok"


def _text(body: str, code: int = 200) -> Response:
    return Response(body + "\n", status=code, mimetype="text/plain")


def create_blueprint() -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    @bp.get("/livez")
    @bp.get("/readyz")
    def health() -> Response:
        code, text = answer(request.path, state())
        return _text(text, code)

    @bp.get("/status/raft")
    def raft() -> Response:
        st = state()
        return json_response({"name": st.config.name, **st.store.status()})

    return bp
