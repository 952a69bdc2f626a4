"""The pods ``eviction`` subresource (``policy/v1`` Eviction): a graceful
delete asked for by ``kubectl drain`` and other disruption tools. Pure: the
handler reads the Eviction here and deletes through the usual delete path.

No PodDisruptionBudget is served, so every eviction is allowed, as
Kubernetes allows one that no budget covers."""

from __future__ import annotations

from typing import Any

from coxapi import errors

from ..admission.deletion import DeleteOptions
from . import params

Obj = dict[str, Any]

GROUP, VERSION, KIND = "policy", "v1", "Eviction"
# What Kubernetes' eviction REST answers: a Status, with the 201 of a create.
SUCCESS: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": 201}


def delete_options(body: Any, namespace: str | None, name: str) -> tuple[DeleteOptions, Obj]:
    """(the options to delete the pod with, the raw DeleteOptions for ``dryRun``)
    from an Eviction body; 400 for another kind or a different pod."""
    if not isinstance(body, dict):
        raise errors.BadRequest("the body must be an Eviction object")
    if body.get("kind") not in (None, "", KIND):
        raise errors.BadRequest(f"the body must be an Eviction, not {body['kind']!r}")
    if body.get("apiVersion") not in (None, "", f"{GROUP}/{VERSION}", f"{GROUP}/v1beta1"):
        raise errors.BadRequest(f"apiVersion: unsupported value {body['apiVersion']!r}: "
                                f"supported values: {GROUP}/{VERSION}")
    meta = body.get("metadata") or {}
    if not isinstance(meta, dict):
        raise errors.BadRequest("metadata: must be an object")
    if meta.get("name") not in (None, "", name):
        raise errors.BadRequest(f"name in URL does not match name in Eviction object "
                                f"({name} != {meta['name']})")
    if meta.get("namespace") not in (None, "", namespace):
        raise errors.BadRequest(f"namespace in URL does not match namespace in Eviction object "
                                f"({namespace} != {meta['namespace']})")
    raw = body.get("deleteOptions") or {}
    if not isinstance(raw, dict):
        raise errors.BadRequest("deleteOptions: must be an object")
    return params.delete_options(raw, {}), raw
