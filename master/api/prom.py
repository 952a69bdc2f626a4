"""``GET /metrics``: the master's Prometheus metrics (master.metrics), for any
authenticated caller, including the read-only monitoring token
(DIR/metrics.token) that may read nothing else."""

from __future__ import annotations

from flask import Blueprint, Response
from flask.blueprints import BlueprintSetupState
from prometheus_client import CollectorRegistry

from .. import metrics
from .state import ApiState

PATH = "/metrics"


def create_blueprint() -> Blueprint:
    bp = Blueprint("prometheus", __name__)
    registry = CollectorRegistry(auto_describe=False)  # this app's own state

    @bp.record_once
    def collect_from(setup: BlueprintSetupState) -> None:
        st: ApiState = setup.app.extensions["coxswain"]
        registry.register(metrics.MasterCollector(st.store.status, lambda: len(st.watchers),
                                                  lambda: st.queue_depths()))

    @bp.get(PATH)
    def scrape() -> Response:
        return Response(metrics.exposition(registry), mimetype=metrics.CONTENT_TYPE)

    return bp
