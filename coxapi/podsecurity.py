"""Pod Security Standards, the checks of Kubernetes' Pod Security admission,
as far as coxswain's pod spec has the fields. Pure.

Levels: ``privileged`` (anything), ``baseline`` (no known privilege
escalation: no host namespaces, privileged containers, hostPath volumes, host
ports, added capabilities beyond the default set, unconfined seccomp, unsafe
sysctls, custom /proc mounts, SELinux users/roles or AppArmor overrides) and
``restricted`` (also: only ephemeral and API volume types, no privilege
escalation, non-root, RuntimeDefault/Localhost seccomp, all capabilities
dropped but NET_BIND_SERVICE)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
LEVELS = ("privileged", "baseline", "restricted")
LABEL = "pod-security.kubernetes.io/"

_BASELINE_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                  "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
_SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                 "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                 "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                 "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                 "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t",
                  "container_engine_t"}
_RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                       "persistentVolumeClaim", "projected", "secret"}
_APPARMOR = "container.apparmor.security.beta.kubernetes.io/"


def _dict(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def _containers(spec: Obj) -> list[tuple[str, Obj]]:
    out = []
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(field) or []):
            if isinstance(c, dict):
                out.append((f"spec.{field}[{i}]", c))
    return out


def baseline(meta: Obj, spec: Obj) -> list[str]:
    bad: list[str] = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            bad.append(f"host namespaces (spec.{field}=true)")
    for i, v in enumerate(spec.get("volumes") or []):
        if isinstance(v, dict) and "hostPath" in v:
            bad.append(f"hostPath volumes (spec.volumes[{i}] {v.get('name')!r})")
    pod_sc = _dict(spec.get("securityContext"))
    for i, s in enumerate(pod_sc.get("sysctls") or []):
        if isinstance(s, dict) and s.get("name") not in _SAFE_SYSCTLS:
            bad.append(f"forbidden sysctls (spec.securityContext.sysctls[{i}] {s.get('name')!r})")
    contexts = [("spec.securityContext", pod_sc)]
    for where, c in _containers(spec):
        sc = _dict(c.get("securityContext"))
        contexts.append((f"{where}.securityContext", sc))
        if sc.get("privileged"):
            bad.append(f"privileged ({where}.securityContext.privileged=true)")
        added = set(_dict(sc.get("capabilities")).get("add") or []) - _BASELINE_CAPS
        if added:
            bad.append(f"non-default capabilities ({where} adds {', '.join(sorted(added))})")
        for j, p in enumerate(c.get("ports") or []):
            if isinstance(p, dict) and p.get("hostPort") not in (None, 0):
                bad.append(f"hostPort ({where}.ports[{j}].hostPort={p.get('hostPort')})")
        if sc.get("procMount") not in (None, "Default"):
            bad.append(f"procMount ({where}.securityContext.procMount={sc.get('procMount')!r})")
    for where, sc in contexts:
        if _dict(sc.get("seccompProfile")).get("type") == "Unconfined":
            bad.append(f"seccompProfile ({where}.seccompProfile.type='Unconfined')")
        se = _dict(sc.get("seLinuxOptions"))
        if se.get("type", "") not in _SELINUX_TYPES or se.get("user") or se.get("role"):
            bad.append(f"seLinuxOptions ({where}.seLinuxOptions)")
    for key, value in _dict(meta.get("annotations")).items():
        if key.startswith(_APPARMOR) and not (value == "runtime/default"
                                               or str(value).startswith("localhost/")):
            bad.append(f"AppArmor profile (annotation {key}={value!r})")
    return bad


def restricted(meta: Obj, spec: Obj) -> list[str]:
    bad = baseline(meta, spec)
    for i, v in enumerate(spec.get("volumes") or []):
        if isinstance(v, dict):
            kinds = set(v) - {"name"} - _RESTRICTED_VOLUMES
            if kinds and "hostPath" not in kinds:
                bad.append(f"restricted volume types (spec.volumes[{i}] uses "
                           f"{', '.join(sorted(kinds))})")
    pod_sc = _dict(spec.get("securityContext"))
    pod_seccomp = _dict(pod_sc.get("seccompProfile")).get("type")
    if pod_sc.get("runAsUser") == 0:
        bad.append("runAsUser=0 (spec.securityContext.runAsUser)")
    for where, c in _containers(spec):
        sc = _dict(c.get("securityContext"))
        if sc.get("allowPrivilegeEscalation") is not False:
            bad.append(f"allowPrivilegeEscalation != false ({where}.securityContext"
                       ".allowPrivilegeEscalation must be false)")
        if not (sc.get("runAsNonRoot") is True
                or sc.get("runAsNonRoot") is None and pod_sc.get("runAsNonRoot") is True):
            bad.append(f"runAsNonRoot != true ({where}.securityContext.runAsNonRoot must be "
                       "true, here or in spec.securityContext)")
        if sc.get("runAsUser") == 0:
            bad.append(f"runAsUser=0 ({where}.securityContext.runAsUser)")
        seccomp = _dict(sc.get("seccompProfile")).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            bad.append(f"seccompProfile ({where}.securityContext.seccompProfile.type must be "
                       "RuntimeDefault or Localhost, here or in spec.securityContext)")
        caps = _dict(sc.get("capabilities"))
        if "ALL" not in (caps.get("drop") or []):
            bad.append(f"unrestricted capabilities ({where}.securityContext.capabilities.drop "
                       "must include ALL)")
        extra = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            bad.append(f"unrestricted capabilities ({where} adds {', '.join(sorted(extra))})")
    return bad


def violations(level: str, meta: Obj, spec: Obj) -> list[str]:
    if level == "restricted":
        return restricted(meta, spec)
    if level == "baseline":
        return baseline(meta, spec)
    return []


def levels(namespace: Obj, default: str) -> tuple[str, str]:
    """``(enforce, warn)`` levels of a namespace from its labels; an unknown
    value counts as ``restricted`` (Kubernetes fails closed the same way)."""
    labels = _dict(_dict(namespace.get("metadata")).get("labels"))

    def level(mode: str, fallback: str) -> str:
        value = labels.get(LABEL + mode)
        if value is None:
            return fallback
        return value if value in LEVELS else "restricted"
    enforce = level("enforce", default)
    return enforce, level("warn", enforce)


def message(name: str, level: str, bad: list[str]) -> str:
    return f'pod "{name}" violates PodSecurity "{level}:latest": ' + "; ".join(bad)
