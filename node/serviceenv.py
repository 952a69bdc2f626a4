"""Pure: the environment variables Kubernetes gives every container for the
Services that exist when it starts (kubelet's ``getServiceEnvVarMap`` and
``envvars.FromServices``): ``WEB_SERVICE_HOST``, ``WEB_SERVICE_PORT``,
``WEB_PORT_80_TCP`` and the rest, Docker-links style."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
MASTER_NAMESPACE = "default"
MASTER_SERVICE = "kubernetes"


def visible(pod: Obj, services: list[Obj]) -> list[Obj]:
    """The Services a pod's env describes: those of its namespace when
    ``enableServiceLinks`` (the default), and always the ``kubernetes`` one.
    ``services`` may hold Services of any namespace."""
    ns = pod["metadata"].get("namespace") or "default"
    links = (pod.get("spec") or {}).get("enableServiceLinks", True) is not False
    out = []
    for svc in services:
        m = svc["metadata"]
        sns = m.get("namespace") or "default"
        if sns == MASTER_NAMESPACE and m.get("name") == MASTER_SERVICE or links and sns == ns:
            out.append(svc)
    # a Service in the pod's namespace wins over the master one of the same name
    by_name = {s["metadata"]["name"]: s for s in out if (s["metadata"].get("namespace") or
                                                         "default") != ns}
    by_name.update({s["metadata"]["name"]: s for s in out
                    if (s["metadata"].get("namespace") or "default") == ns})
    return [by_name[k] for k in sorted(by_name)]


def _prefix(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(services: list[Obj]) -> dict[str, str]:
    """The variables for ``services``; headless and ExternalName Services
    (no cluster IP) get none."""
    env: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            continue
        p = _prefix(svc["metadata"]["name"])
        ports = [x for x in spec.get("ports") or [] if isinstance(x, dict) and x.get("port")]
        env[f"{p}_SERVICE_HOST"] = ip
        if not ports:
            continue
        env[f"{p}_SERVICE_PORT"] = str(ports[0]["port"])
        for port in ports:
            if port.get("name"):
                env[f"{p}_SERVICE_PORT_{_prefix(port['name'])}"] = str(port["port"])
        first = ports[0]
        proto = str(first.get("protocol") or "TCP").lower()
        env[f"{p}_PORT"] = f"{proto}://{ip}:{first['port']}"
        for port in ports:
            proto = str(port.get("protocol") or "TCP")
            base = f"{p}_PORT_{port['port']}_{proto.upper()}"
            env[base] = f"{proto.lower()}://{ip}:{port['port']}"
            env[f"{base}_PROTO"] = proto.lower()
            env[f"{base}_PORT"] = str(port["port"])
            env[f"{base}_ADDR"] = ip
    return env
