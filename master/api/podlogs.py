"""The pod log subresource: a streaming proxy to the node agent that runs the pod."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests
from flask import Response

from coxapi import errors

from ..objects import ObjectStore

_PASS_PARAMS = ("follow", "tailLines", "timestamps", "sinceSeconds", "previous", "limitBytes")


def agent_url(node: dict[str, Any]) -> str:
    status = node.get("status") or {}
    ip = next((a.get("address") for a in status.get("addresses") or []
               if a.get("type") == "InternalIP"), None)
    if not ip:
        raise errors.Unavailable(f'node "{node["metadata"]["name"]}" reports no InternalIP address')
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port", 10250)
    host = f"[{ip}]" if ":" in ip else ip
    return f"http://{host}:{int(port)}"


def choose_container(pod: dict[str, Any], requested: str | None) -> str:
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    pod_name = pod["metadata"]["name"]
    if requested:
        init = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []]
        if requested not in names + init:
            raise errors.BadRequest(f'container {requested} is not valid for pod {pod_name}')
        return requested
    if len(names) == 1:
        return names[0]
    raise errors.BadRequest(f"a container name must be specified for pod {pod_name}, "
                            f"choose one of: [{' '.join(str(n) for n in names)}]")


def proxy(objects: ObjectStore, namespace: str, name: str, query: Mapping[str, str],
          token: str | None, connect_timeout: float) -> Response:
    pod = objects.get("Pod", namespace, name)
    container = choose_container(pod, query.get("container"))
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.BadRequest(f'pod "{name}" is not scheduled to a node yet; no logs')
    base = agent_url(objects.get("Node", None, node_name))
    url = f"{base}/containerLogs/{namespace}/{name}/{container}"
    follow = (query.get("follow") or "").lower() in ("true", "1")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        upstream = requests.get(url, params={k: query[k] for k in _PASS_PARAMS if k in query},
                                headers=headers, stream=True,
                                timeout=(connect_timeout, None if follow else 30))
    except requests.RequestException as e:
        raise errors.Unavailable(f'cannot reach the node agent of node "{node_name}" at {base}: '
                                 f"{type(e).__name__}") from None
    if upstream.status_code >= 400:
        try:
            body = upstream.json()
        except ValueError:
            body = None
        upstream.close()
        if isinstance(body, dict) and body.get("kind") == "Status":
            raise errors.ApiError.from_status(body, upstream.status_code)
        raise errors.ApiError.from_status({"code": upstream.status_code,
                                           "message": f"the node agent answered "
                                                      f"{upstream.status_code}"})

    def stream() -> Iterator[bytes]:
        try:
            for chunk in upstream.iter_content(chunk_size=None):
                if chunk:
                    yield chunk
        except requests.RequestException:
            return
        finally:
            upstream.close()

    return Response(stream(), mimetype="text/plain", direct_passthrough=True)
