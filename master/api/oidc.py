"""Service account issuer discovery: ``/.well-known/openid-configuration`` and
``/openid/v1/jwks``, the public half of the masters' signing key (as
Kubernetes serves them). Node agents read the keys here to verify the tokens
masters send them; anyone may verify a ServiceAccount token with them."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..signing import ISSUER
from .responses import json_response
from .state import state

JWKS_PATH = "/openid/v1/jwks"


def create_blueprint() -> Blueprint:
    bp = Blueprint("oidc", __name__)

    @bp.get("/.well-known/openid-configuration")
    def configuration() -> Response:
        return json_response({"issuer": ISSUER, "jwks_uri": request.host_url.rstrip("/")
                              + JWKS_PATH, "response_types_supported": ["id_token"],
                              "subject_types_supported": ["public"],
                              "id_token_signing_alg_values_supported": ["EdDSA"]})

    @bp.get(JWKS_PATH)
    def jwks() -> Response:
        return json_response(state().signing.jwks())

    return bp
