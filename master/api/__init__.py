"""The HTTP API of a master: ``create_app(config, store)`` builds the Flask app.

Blueprints: discovery and ``/version``; health and ``/status/raft``; one per
API group-version for the resources. Every request but the open health and
version endpoints needs a valid bearer token.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from flask import Flask, Response, g, request

from coxapi import errors, kinds
from raftstore import Store

from ..auth import MONITORING_GROUP, UnionAuthenticator, User
from ..eventleases import EventLeases
from ..objects import ObjectStore
from ..serviceaccounts import ServiceAccountAuthenticator
from ..signing import SigningKey
from ..usagehistory import UsageHistory, UsageTap
from ..watchcache import WatchCaches
from . import discovery, health, members, metrics, oidc, openapi, prom, resources, responses
from .config import ApiConfig
from .rbacauthz import RbacAuthorizer
from .reviews import non_resource_decision
from .state import ApiState
from .storehealth import LeaderTracker
from .watch import Broadcaster

log = logging.getLogger(__name__)

# Open to anonymous callers, as Kubernetes' health and version endpoints are.
OPEN_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})


def authenticated(config: ApiConfig, authorization: str | None, path: str) -> User:
    """The caller of a request that needs a token (every path but OPEN_PATHS); a
    monitoring token is good for ``/metrics`` only."""
    user = config.authenticator.authenticate(authorization)
    if user is None:
        raise errors.Unauthorized("Unauthorized")
    if MONITORING_GROUP in user.groups and path != prom.PATH:
        raise errors.Forbidden(f'user "{user.name}" may only read {prom.PATH}')
    return user


def create_app(config: ApiConfig, store: Store, objects: ObjectStore | None = None) -> Flask:
    app = Flask("coxswain.master")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    objects = objects or ObjectStore(store)
    signing = SigningKey(objects)
    # tokens from the token file, then ServiceAccount tokens the masters signed
    config = replace(config, authenticator=UnionAuthenticator(
        config.authenticator, ServiceAccountAuthenticator(signing, objects)))
    leader = LeaderTracker(store, config.watch_leaderless_seconds)
    stopping = threading.Event()
    watchers = Broadcaster(config, leader, stopping)
    usage = UsageHistory()  # the dashboard's charts, fed as Leases pass through the caches
    app.extensions["coxswain"] = ApiState(
        config=config, store=store, objects=objects,
        event_leases=EventLeases(store, config.event_ttl_seconds),
        leader=leader, stopping=stopping, watchers=watchers,
        caches=WatchCaches(store, UsageTap(watchers, usage)), signing=signing,
        rbac=RbacAuthorizer(objects), usage=usage)
    responses.register(app)

    @app.before_request
    def authenticate() -> None:
        if request.path in OPEN_PATHS:
            return
        g.user = user = authenticated(config, request.headers.get("Authorization"), request.path)
        endpoint = request.endpoint or ""
        if endpoint.startswith(metrics.BLUEPRINT + "."):
            return  # resources of metrics.k8s.io: authorized there (master.api.metrics)
        if not endpoint.endswith(".dispatch"):  # a non-resource URL
            reason = non_resource_decision(state_of(app).rbac, user, request.method.lower(),
                                           request.path)
            if reason is not None:
                raise errors.Forbidden(f'forbidden: User "{user.name}" cannot '
                                       f'{request.method.lower()} path "{request.path}": {reason}')

    @app.after_request
    def access_log(response: Response) -> Response:
        # Method, path and status only: bodies and headers may hold secrets.
        if log.isEnabledFor(logging.DEBUG):
            user = getattr(g, "user", None)
            log.debug("%s %s %d (%s)", request.method, request.path, response.status_code,
                      user.name if user else "anonymous")
        return response

    app.register_blueprint(discovery.create_blueprint())
    app.register_blueprint(health.create_blueprint())
    app.register_blueprint(members.create_blueprint())
    app.register_blueprint(metrics.create_blueprint())
    app.register_blueprint(prom.create_blueprint())
    app.register_blueprint(openapi.create_blueprint())
    app.register_blueprint(oidc.create_blueprint())
    for group_version in kinds.group_versions():
        app.register_blueprint(resources.create_blueprint(group_version))
    return app


def state_of(app: Flask) -> ApiState:
    return app.extensions["coxswain"]


__all__ = ["OPEN_PATHS", "ApiConfig", "authenticated", "create_app", "state_of"]
