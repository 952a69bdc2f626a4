"""``cox describe``: an object's fields in readable form, followed by its Events.

Rendering (``describe_lines``) is pure; the command only fetches the object
and its events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from coxapi import errors as api
from coxapi.kinds import Kind

from .. import printers
from .context import CliContext, namespace_option, pass_cli
from .merge import LAST_APPLIED
from .targets import parse_targets

Obj = dict[str, Any]
Line = tuple[str, str]  # (key, value); key "" continues the previous value


def _kv_lines(key: str, mapping: dict | None) -> list[Line]:
    items = [f"{k}={v}" for k, v in (mapping or {}).items()]
    if not items:
        return [(key, printers.NONE)]
    return [(key, items[0])] + [("", i) for i in items[1:]]


def _common(obj: Obj, kind: Kind) -> list[Line]:
    meta = obj.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    lines: list[Line] = [("Name", meta.get("name", ""))]
    if kind.namespaced:
        lines.append(("Namespace", meta.get("namespace", "")))
    lines += _kv_lines("Labels", meta.get("labels"))
    lines += _kv_lines("Annotations", annotations)
    lines.append(("CreationTimestamp", meta.get("creationTimestamp") or "<unknown>"))
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            lines.append(("Controlled By", f"{ref.get('kind')}/{ref.get('name')}"))
    if meta.get("deletionTimestamp"):
        lines.append(("Terminating Since", meta["deletionTimestamp"]))
    return lines


def _nested(value: Any, indent: int) -> list[str]:
    """A generic, YAML-like rendering for fields without a dedicated layout."""
    pad = "  " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict | list) and v:
                out.append(f"{pad}{k}:")
                out += _nested(v, indent + 1)
            else:
                out.append(f"{pad}{k}:  {_scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                sub = _nested(item, indent + 1)
                out.append(f"{pad}- {sub[0].strip()}")
                out += sub[1:]
            else:
                out.append(f"{pad}- {_scalar(item)}")
    else:
        out.append(f"{pad}{_scalar(value)}")
    return out


def _scalar(v: Any) -> str:
    if v is None or v == {} or v == []:
        return printers.NONE
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def _state(cs: Obj) -> list[str]:
    state = cs.get("state") or {}
    for name, body in state.items():
        body = body or {}
        out = [f"State:          {name.capitalize()}"]
        if body.get("reason"):
            out.append(f"  Reason:       {body['reason']}")
        if "exitCode" in body:
            out.append(f"  Exit Code:    {body['exitCode']}")
        if body.get("startedAt"):
            out.append(f"  Started:      {body['startedAt']}")
        if body.get("message"):
            out.append(f"  Message:      {body['message']}")
        return out
    return ["State:          Waiting"]


def _containers(spec: Obj, statuses: list[Obj] | None) -> list[str]:
    by_name = {c.get("name"): c for c in statuses or []}
    out: list[str] = []
    for c in spec.get("containers") or []:
        out.append(f"  {c.get('name')}:")
        body = [f"Image:          {c.get('image', '')}"]
        ports = [f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in c.get("ports") or []]
        body.append(f"Port:           {', '.join(ports) or printers.NONE}")
        if c.get("command"):
            body.append(f"Command:        {' '.join(map(str, c['command']))}")
        if c.get("args"):
            body.append(f"Args:           {' '.join(map(str, c['args']))}")
        cs = by_name.get(c.get("name"))
        if cs is not None:
            body += _state(cs)
            body.append(f"Ready:          {_scalar(bool(cs.get('ready')))}")
            body.append(f"Restart Count:  {cs.get('restartCount', 0)}")
        res = c.get("resources") or {}
        for what in ("limits", "requests"):
            if res.get(what):
                body.append(f"{what.capitalize()}:")
                body += [f"  {k}:  {v}" for k, v in res[what].items()]
        if c.get("env"):
            body.append("Environment:")
            body += [f"  {e.get('name')}:  {e.get('value', '<set from a source>')}"
                     for e in c["env"]]
        out += [f"    {line}" for line in body]
    return out


def _conditions(obj: Obj) -> list[str]:
    conds = (obj.get("status") or {}).get("conditions") or []
    if not conds:
        return []
    rows = [["Type", "Status", "Reason", "Message"]]
    rows += [[c.get("type", ""), c.get("status", ""), c.get("reason", "") or "",
              c.get("message", "") or ""] for c in conds]
    return ["Conditions:"] + [f"  {line}" for line in printers.render_table(rows)]


def _pod(pod: Obj) -> tuple[list[Line], list[str]]:
    spec, st = pod.get("spec") or {}, pod.get("status") or {}
    node = spec.get("nodeName") or printers.NONE
    if spec.get("nodeName") and st.get("hostIP"):
        node += f"/{st['hostIP']}"
    lines: list[Line] = [("Node", node), ("Start Time", st.get("startTime") or printers.NONE),
                         ("Status", printers.pod_status(pod)),
                         ("IP", st.get("podIP") or printers.NONE)]
    blocks = ["Containers:"] + _containers(spec, st.get("containerStatuses"))
    blocks += _conditions(pod)
    return lines, blocks


def _template_block(template: Obj) -> list[str]:
    meta, spec = template.get("metadata") or {}, template.get("spec") or {}
    labels = ",".join(f"{k}={v}" for k, v in (meta.get("labels") or {}).items())
    out = ["Pod Template:", f"  Labels:  {labels or printers.NONE}", "  Containers:"]
    return out + [f"  {line}" for line in _containers(spec, None)]


def _deployment(d: Obj) -> tuple[list[Line], list[str]]:
    spec, st = d.get("spec") or {}, d.get("status") or {}
    desired = spec.get("replicas", 1)
    replicas = (f"{desired} desired | {st.get('updatedReplicas', 0)} updated | "
                f"{st.get('replicas', 0)} total | {st.get('availableReplicas', 0)} available | "
                f"{st.get('unavailableReplicas', 0)} unavailable")
    strategy = spec.get("strategy") or {}
    lines: list[Line] = [("Selector", printers.label_selector_text(spec.get("selector"))),
                         ("Replicas", replicas),
                         ("StrategyType", strategy.get("type", "RollingUpdate"))]
    ru = strategy.get("rollingUpdate") or {}
    if ru:
        lines.append(("RollingUpdateStrategy", f"{ru.get('maxUnavailable', '25%')} max "
                      f"unavailable, {ru.get('maxSurge', '25%')} max surge"))
    return lines, _template_block(spec.get("template") or {}) + _conditions(d)


def _replicaset(rs: Obj) -> tuple[list[Line], list[str]]:
    spec, st = rs.get("spec") or {}, rs.get("status") or {}
    lines: list[Line] = [
        ("Selector", printers.label_selector_text(spec.get("selector"))),
        ("Replicas", f"{st.get('replicas', 0)} current / {spec.get('replicas', 1)} desired"),
        ("Pods Status", f"{st.get('readyReplicas', 0)} Ready / "
                        f"{st.get('availableReplicas', 0)} Available")]
    return lines, _template_block(spec.get("template") or {})


def _node(n: Obj) -> tuple[list[Line], list[str]]:
    spec, st = n.get("spec") or {}, n.get("status") or {}
    taints = [f"{t.get('key')}={t.get('value', '')}:{t.get('effect')}" if t.get("value")
              else f"{t.get('key')}:{t.get('effect')}" for t in spec.get("taints") or []]
    lines: list[Line] = [("Roles", printers.node_roles(n)),
                         ("Taints", taints[0] if taints else printers.NONE)]
    lines += [("", t) for t in taints[1:]]
    lines += [("Unschedulable", _scalar(bool(spec.get("unschedulable")))),
              ("PodCIDR", spec.get("podCIDR") or printers.NONE)]
    blocks = _conditions(n)
    blocks += ["Addresses:"] + [f"  {a.get('type')}:  {a.get('address')}"
                                for a in st.get("addresses") or []]
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable"),
                       ("Usage", "usage"), ("System Info", "nodeInfo")):
        if st.get(key):
            blocks += [f"{title}:"] + [f"  {k}:  {v}" for k, v in st[key].items()]
    return lines, blocks


def _service(s: Obj) -> tuple[list[Line], list[str]]:
    spec = s.get("spec") or {}
    lines: list[Line] = [("Selector", printers.map_selector_text(spec.get("selector"))),
                         ("Type", spec.get("type", "ClusterIP")),
                         ("IP", spec.get("clusterIP") or printers.NONE)]
    for p in spec.get("ports") or []:
        lines.append(("Port", f"{p.get('name') or '<unset>'}  {p.get('port')}/"
                              f"{p.get('protocol', 'TCP')}"))
        lines.append(("TargetPort", str(p.get("targetPort", p.get("port")))))
        if p.get("nodePort"):
            lines.append(("NodePort", str(p["nodePort"])))
    lines.append(("Session Affinity", spec.get("sessionAffinity", "None")))
    return lines, []


def _resource_quota(q: Obj) -> tuple[list[Line], list[str]]:
    """kubectl's table of each limited resource: what is used of how much."""
    hard = (q.get("spec") or {}).get("hard") or {}
    used = (q.get("status") or {}).get("used") or {}
    rows = [["Resource", "Used", "Hard"], ["--------", "----", "----"]]
    rows += [[r, str(used.get(r, "0")), str(hard[r])] for r in sorted(hard)]
    return [], printers.render_table(rows)


def _generic(obj: Obj) -> tuple[list[Line], list[str]]:
    blocks: list[str] = []
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        title = key[:1].upper() + key[1:]
        if isinstance(value, dict | list) and value:
            blocks += [f"{title}:"] + _nested(value, 1)
        else:
            blocks.append(f"{title}:  {_scalar(value)}")
    return [], blocks


_LAYOUTS = {"Pod": _pod, "Deployment": _deployment, "ReplicaSet": _replicaset, "Node": _node,
            "Service": _service}
_LAYOUTS["ResourceQuota"] = _resource_quota


def events_block(events: list[Obj], now: datetime) -> list[str]:
    if not events:
        return ["Events:  <none>"]
    rows = [["Type", "Reason", "Age", "From", "Message"],
            ["----", "------", "----", "----", "-------"]]
    for e in sorted(events, key=lambda e: str(printers.event_time(e) or "")):
        source = (e.get("source") or {}).get("component") or e.get("reportingComponent") or ""
        count = e.get("count") or 1
        when = printers.age(printers.event_time(e), now)
        if count > 1:
            when += f" (x{count})"
        rows.append([e.get("type", ""), e.get("reason", ""), when, source,
                     " ".join(str(e.get("message", "")).split())])
    return ["Events:"] + [f"  {line}" for line in printers.render_table(rows)]


def describe_lines(kind: Kind, obj: Obj, events: list[Obj] | None, now: datetime) -> list[str]:
    """The whole ``describe`` text for one object."""
    lines, blocks = _LAYOUTS.get(kind.kind, _generic)(obj)
    head = _common(obj, kind) + lines
    width = max(len(k) for k, _ in head) + 2
    out = [f"{(k + ':') if k else '':<{width}}{v}" for k, v in head]
    out += blocks
    if events is not None:
        out += events_block(events, now)
    return out


def is_about(event: Obj, kind: Kind, obj: Obj) -> bool:
    inv = event.get("involvedObject") or {}
    meta = obj.get("metadata") or {}
    if inv.get("uid") and meta.get("uid") and inv["uid"] != meta["uid"]:
        return False
    return (inv.get("name") == meta.get("name")
            and (not inv.get("kind") or inv.get("kind") == kind.kind)
            and (not kind.namespaced or not inv.get("namespace")
                 or inv.get("namespace") == meta.get("namespace")))


def fetch_events(cli: CliContext, kind: Kind, obj: Obj) -> list[Obj]:
    """Events about ``obj``: by field selector, or filtered here if the server can't."""
    client = cli.client()
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") if kind.namespaced else None
    try:
        result = client.list("events", ns, field_selector=f"involvedObject.name={meta.get('name')}")
    except api.BadRequest:
        result = client.list("events", ns)
    return [e for e in result.get("items") or [] if is_about(e, kind, obj)]


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="KIND [NAME...] | KIND/NAME...")
@namespace_option
@click.option("-l", "--selector", default=None, help="Describe every object matching this.")
@click.option("--show-events/--no-show-events", default=True, show_default=True)
@pass_cli
def describe(cli: CliContext, args: tuple[str, ...], namespace: str | None,
             selector: str | None, show_events: bool) -> None:
    """Show the details of objects and their recent events.

    \b
    Examples:
      cox describe pod web-6c9f
      cox describe deploy/web
      cox describe nodes
    """
    client = cli.client()
    first = True
    for kind, names in parse_targets(args):
        ns = cli.namespace_for(namespace) if kind.namespaced else None
        if names:
            objs = [client.get(kind, n, ns) for n in names]
        else:
            objs = client.list(kind, ns, label_selector=selector).get("items") or []
        for obj in objs:
            if not first:
                click.echo("\n")
            first = False
            events = fetch_events(cli, kind, obj) if show_events else None
            click.echo("\n".join(describe_lines(kind, obj, events, cli.now())))
