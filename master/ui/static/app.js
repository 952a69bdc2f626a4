// The coxswain dashboard: plain JavaScript, no build step (docs/dashboard.md).
// Data: GET /ui/api/<API path> (the real API as the signed-in user), live
// updates over Server-Sent Events (the API's watch), actions POSTed to
// /ui/actions/<name> with the session's CSRF token.
import { cpuCores, memBytes, fmtCpu, fmtMem, age, rolloutState, daemonSetRollout, statefulSetRollout, chart } from "./util.js";

const $ = (s, r = document) => r.querySelector(s);
const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ESC[c]);
const key = (o) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

let session = null;
const canCache = new Map(); // namespace -> {action: bool} | Promise

class ApiError extends Error {
  constructor(status, code, retryAfter = null) {
    super((status && status.message) || `HTTP ${code}`);
    this.status = status || {};
    this.code = code;
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After
  }
  // Too many requests in flight: the server is up and asks to come back later.
  get busy() { return this.code === 429; }
}

async function request(path, opts = {}) {
  const r = await fetch(path, { credentials: "same-origin", ...opts });
  if (r.status === 401) {
    location.assign("/ui/login");
    throw new ApiError({ message: "signed out" }, 401);
  }
  return r;
}

async function getJSON(path) {
  const r = await request(path);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(body, r.status, Number(r.headers.get("Retry-After")) || null);
  return body;
}

async function act(action, body) {
  const r = await request(`/ui/actions/${action}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrf },
    body: JSON.stringify(body),
  });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(out, r.status);
  return out;
}

function can(ns, action) {
  const c = canCache.get(ns || "default");
  if (c && !(c instanceof Promise)) return !!c[action];
  if (!c) {
    const p = getJSON(`/ui/can?namespace=${encodeURIComponent(ns || "default")}`)
      .then((v) => { canCache.set(ns || "default", v); rerender(); })
      .catch(() => canCache.set(ns || "default", {}));
    canCache.set(ns || "default", p);
  }
  return false;
}

function toast(text, bad = false) {
  const t = $("#toast");
  t.textContent = text;
  t.className = bad ? "bad" : "";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.textContent = ""; }, 6000);
}

// ---- the connection: its indicator and failover to another master ----

const conn = {
  masters: [],
  probing: false,
  waiting: [],
  set(state, text) {
    const el = $("#conn");
    el.dataset.state = state;
    el.dataset.master = location.origin;
    el.textContent = `${text} · ${location.host}`;
  },
  ok() { this.set("live", "live"); },
  // A stream broke: retry here while this master is ready, else move to another.
  lost(retry) {
    this.waiting.push(retry);
    if (this.probing) return;
    this.probing = true;
    this.set("reconnecting", "reconnecting");
    const attempt = async () => {
      try {
        const r = await fetch("/readyz", { cache: "no-store" });
        if (r.ok) {
          this.probing = false;
          const w = this.waiting.splice(0);
          w.forEach((f) => f());
          return;
        }
      } catch (e) { /* this master is gone */ }
      for (const url of this.masters) {
        if (url === location.origin) continue;
        try {
          await fetch(`${url}/readyz`, { mode: "no-cors", cache: "no-store" });
          this.set("reconnecting", `moving to ${url}`);
          location.assign(`${url}/ui/${location.hash}`); // the cookie is per host, not per port
          return;
        } catch (e) { /* not that one either */ }
      }
      setTimeout(attempt, 2000);
    };
    setTimeout(attempt, 500);
  },
};

// ---- live lists: GET each, then watch them all from their versions over one
// SSE stream (a browser keeps only six connections per host) ----

class Live {
  constructor(path) {
    this.path = path;
    this.items = new Map();
    this.error = null;
    this.loaded = false;
    this.rv = null;
    this.listeners = new Set();
  }
  on(f) { this.listeners.add(f); return this; }
  async load() {
    try {
      const list = await getJSON(`/ui/api${this.path}`);
      this.items = new Map((list.items || []).map((o) => [key(o), o]));
      this.rv = list.metadata.resourceVersion;
      this.loaded = true;
      this.error = null;
    } catch (e) {
      this.error = e;
      this.rv = null;
      // a refusal (403, 404) is shown and not watched; the rest are tried again
      if (!(e instanceof ApiError) || e.code >= 500 || e.busy) throw e;
    } finally {
      this.emit();
    }
  }
  apply(ev) {
    if (ev.type === "ERROR") return false;
    if (ev.type !== "BOOKMARK") {
      if (ev.type === "DELETED") this.items.delete(key(ev.object));
      else this.items.set(key(ev.object), ev.object);
      this.emit();
    }
    return true;
  }
  emit() { this.listeners.forEach((f) => f(this)); }
  list() { return [...this.items.values()]; }
}

class Hub {
  constructor(lives) { this.lives = lives; this.es = null; this.closed = false; this.timer = null; }
  async start() {
    if (this.closed) return;
    try {
      await Promise.all(this.lives.map((l) => l.load()));
    } catch (e) {
      if (e instanceof ApiError && e.busy) { // shown meanwhile; this master is fine
        this.timer = setTimeout(() => this.start(), 1000 * Math.max(1, e.retryAfter || 1));
        return;
      }
      conn.lost(() => this.start());
      return;
    }
    const watched = this.lives.filter((l) => l.rv !== null);
    if (!watched.length || this.closed) return;
    const q = watched.map((l) => {
      const sep = l.path.includes("?") ? "&" : "?";
      return `w=${encodeURIComponent(`${l.path}${sep}allowWatchBookmarks=true&resourceVersion=${l.rv}`)}`;
    }).join("&");
    const es = new EventSource(`/ui/watch?${q}`);
    this.es = es;
    es.onopen = () => conn.ok();
    watched.forEach((l, i) => es.addEventListener(String(i), (m) => {
      if (!l.apply(JSON.parse(m.data))) this.restart(es); // ERROR: e.g. 410 Gone
    }));
    es.onerror = () => this.restart(es, true); // the watches ended or the master went away
  }
  restart(es, lost = false) {
    es.close();
    if (this.es !== es || this.closed) return;
    this.es = null;
    if (lost) conn.lost(() => this.start());
    else this.start();
  }
  close() { this.closed = true; clearTimeout(this.timer); if (this.es) this.es.close(); }
}

// ---- pages ----

let current = null; // {cleanup, render}
const rerender = () => current && current.render && current.render();

function page(main, sources, render, extra = () => {}) {
  const lives = sources.map((p) => new Live(p));
  // A busy cluster changes many times a second: redraw at most once a frame,
  // and leave the browser at least twice the last redraw's time in between.
  let cost = 0, last = 0, timer = null;
  const draw = () => {
    const t = performance.now();
    render(main, ...lives);
    last = performance.now();
    cost = last - t;
  };
  const soon = () => {
    if (timer !== null) return;
    timer = setTimeout(() => { timer = null; requestAnimationFrame(draw); },
      Math.max(0, last + 2 * cost - performance.now()));
  };
  lives.forEach((l) => l.on(soon));
  const hub = new Hub(lives);
  hub.start();
  draw();
  const stop = extra(main, lives) || (() => {});
  return { render: draw, cleanup: () => { clearTimeout(timer); hub.close(); stop(); } };
}

function section(main, id, title, head) {
  let s = main.querySelector(`#${id}`);
  if (!s) {
    s = document.createElement("section");
    s.id = id;
    s.innerHTML = `<h2>${esc(title)}</h2><p class="note" aria-live="polite"></p><div class="scroll"><table><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join("")}</tr></thead><tbody></tbody></table></div>`;
    main.appendChild(s);
  }
  return s;
}

function fill(s, live, rows) {
  s.querySelector(".note").textContent = live && live.error ? live.error.message
    : (live && !live.loaded ? "loading…" : "");
  const cols = s.querySelectorAll("thead th").length;
  s.querySelector("tbody").innerHTML = rows.length ? rows.join("")
    : (live && !live.loaded ? "" : `<tr><td colspan="${cols}" class="empty">none</td></tr>`);
}

function button(action, label, o, resource, extra = "") {
  const m = o.metadata;
  if (!can(m.namespace, action)) return "";
  return `<button type="button" data-action="${action}" data-resource="${esc(resource)}" data-namespace="${esc(m.namespace || "")}" data-name="${esc(m.name)}"${extra}>${esc(label)}</button>`;
}

const byName = (a, b) => { const x = key(a), y = key(b); return x < y ? -1 : x > y ? 1 : 0; };
const cond = (o, type) => ((o.status || {}).conditions || []).find((c) => c.type === type);

function podStatus(p) {
  const st = p.status || {};
  if (p.metadata.deletionTimestamp) return "Terminating";
  for (const c of st.containerStatuses || []) {
    const w = (c.state || {}).waiting || (c.state || {}).terminated;
    if (w && w.reason && w.reason !== "Completed") return w.reason;
  }
  return st.reason || st.phase || "Pending";
}

function requested(pods, node) {
  let cpu = 0, mem = 0;
  for (const p of pods) {
    if ((p.spec || {}).nodeName !== node) continue;
    const phase = (p.status || {}).phase;
    if (phase === "Succeeded" || phase === "Failed") continue;
    for (const c of (p.spec || {}).containers || []) {
      const r = (c.resources || {}).requests || {};
      cpu += cpuCores(r.cpu);
      mem += memBytes(r.memory);
    }
  }
  return { cpu, mem };
}

// node name -> [[time (this browser's clock), cpu cores, memory bytes]] over the
// last hour: the history the master keeps (/ui/usage), then what is new since.
const usage = new Map();
let usageUpTo = 0; // the master's time (ms) of the newest sample received
async function pollUsage() {
  try {
    const u = await getJSON(`/ui/usage${usageUpTo ? `?since=${usageUpTo}` : ""}`);
    const skew = Date.now() - u.now; // charts are drawn against this browser's clock
    for (const [node, samples] of Object.entries(u.nodes)) {
      const h = usage.get(node) || [];
      for (const [t, cpu, mem] of samples) {
        h.push([t + skew, cpu / 1e9, mem]);
        usageUpTo = Math.max(usageUpTo, t);
      }
      while (h.length && h[0][0] < Date.now() - 3600e3) h.shift();
      usage.set(node, h);
    }
    for (const node of usage.keys()) if (!(node in u.nodes)) usage.delete(node); // removed
  } catch (e) { /* no usage reports yet, or not allowed: the charts say "no data yet" */ }
}

const PAGES = {
  cluster(main) {
    main.innerHTML = "<h1>Cluster</h1>";
    const raft = section(main, "raft", "Masters (Raft)", ["Master", "Role", "Term", "Commit", "Applied", "Reachable", "URL"]);
    const counts = document.createElement("p");
    counts.id = "counts";
    main.insertBefore(counts, raft.nextSibling);
    const loadRaft = async () => {
      try {
        const v = await getJSON("/ui/raft");
        fill(raft, null, v.masters.map((r) => `<tr data-name="${esc(r.name || r.id)}" data-role="${esc(r.role)}"><th scope="row">${esc(r.name || r.id)}${r.self ? " (this)" : ""}</th><td>${esc(r.role)}</td><td>${esc(r.term)}</td><td>${esc(r.commit_index)}</td><td>${esc(r.applied_index)}</td><td>${r.reachable ? "yes" : "no"}</td><td>${esc(r.url)}</td></tr>`));
      } catch (e) { raft.querySelector(".note").textContent = e.message; }
    };
    loadRaft();
    const timer = setInterval(loadRaft, 3000);
    const p = page(main, ["/api/v1/nodes", "/api/v1/pods", "/api/v1/events?fieldSelector=type%3DWarning"], (m, nodes, pods, events) => {
      const ready = nodes.list().filter((n) => (cond(n, "Ready") || {}).status === "True").length;
      const running = pods.list().filter((x) => (x.status || {}).phase === "Running").length;
      counts.textContent = `${nodes.items.size} nodes (${ready} Ready) · ${pods.items.size} pods (${running} Running)`;
      const s = section(m, "warnings", "Recent warnings", ["Last seen", "Object", "Reason", "Message"]);
      const w = events.list().filter((e) => e.type === "Warning")
        .sort((a, b) => String(b.lastTimestamp || "").localeCompare(String(a.lastTimestamp || ""))).slice(0, 20);
      fill(s, events, w.map((e) => `<tr data-name="${esc(key(e))}"><td>${esc(age(e.lastTimestamp || e.eventTime))}</td><td>${esc(e.involvedObject.kind)}/${esc(e.involvedObject.name)}</td><td>${esc(e.reason)}</td><td>${esc(e.message)}</td></tr>`));
    });
    return { render: p.render, cleanup: () => { clearInterval(timer); p.cleanup(); } };
  },

  nodes(main) {
    main.innerHTML = "<h1>Nodes</h1>";
    usage.clear();
    usageUpTo = 0;
    pollUsage().then(rerender);
    const timer = setInterval(() => pollUsage().then(rerender), 5000);
    const p = page(main, ["/api/v1/nodes", "/api/v1/pods"], (m, nodes, pods) => {
      const s = section(m, "node-list", "Nodes", ["Name", "Status", "Conditions", "Taints", "CPU requested / allocatable", "Memory requested / allocatable", "Usage (last hour)", "Actions"]);
      const podList = pods.list();
      fill(s, nodes, nodes.list().sort(byName).map((n) => {
        const ready = cond(n, "Ready");
        let status = ready ? (ready.status === "True" ? "Ready" : ready.status === "False" ? "NotReady" : "Unknown") : "Unknown";
        if ((n.spec || {}).unschedulable) status += ",SchedulingDisabled";
        const bad = ((n.status || {}).conditions || []).filter((c) => c.type !== "Ready" && c.status === "True").map((c) => c.type);
        const taints = ((n.spec || {}).taints || []).map((t) => `${t.key}${t.value ? "=" + t.value : ""}:${t.effect}`);
        const alloc = (n.status || {}).allocatable || {};
        const req = requested(podList, n.metadata.name);
        const ac = cpuCores(alloc.cpu), am = memBytes(alloc.memory);
        const h = usage.get(n.metadata.name) || [];
        const cordoned = (n.spec || {}).unschedulable;
        return `<tr data-name="${esc(n.metadata.name)}"><th scope="row">${esc(n.metadata.name)}</th><td data-col="status">${esc(status)}</td><td>${esc(bad.join(", ") || "—")}</td><td>${esc(taints.join(", ") || "—")}</td><td>${esc(fmtCpu(req.cpu))} / ${esc(fmtCpu(ac))}</td><td>${esc(fmtMem(req.mem))} / ${esc(fmtMem(am))}</td><td>${chart(h.map((x) => [x[0], ac ? x[1] / ac : 0]), "CPU")}${chart(h.map((x) => [x[0], am ? x[2] / am : 0]), "memory")}</td><td class="actions">${cordoned ? button("uncordon", "Uncordon", n, "nodes") : button("cordon", "Cordon", n, "nodes")}${button("drain", "Drain", n, "nodes")}</td></tr>`;
      }));
    });
    return { render: p.render, cleanup: () => { clearInterval(timer); p.cleanup(); } };
  },

  workloads(main) {
    main.innerHTML = "<h1>Workloads</h1>";
    return page(main, ["/apis/apps/v1/deployments", "/apis/apps/v1/replicasets", "/apis/apps/v1/daemonsets", "/apis/apps/v1/statefulsets", "/apis/batch/v1/jobs", "/apis/batch/v1/cronjobs"],
      (m, deps, rss, dss, stss, jobs, cjs) => {
        const rsList = rss.list();
        const revs = (d) => rsList.filter((r) => ((r.metadata.ownerReferences || []).some((o) => o.controller && o.uid === d.metadata.uid)))
          .map((r) => [Number((r.metadata.annotations || {})["deployment.kubernetes.io/revision"] || 0), r])
          .sort((a, b) => a[0] - b[0])
          .map(([n, r]) => `#${n}${String(n) === (d.metadata.annotations || {})["deployment.kubernetes.io/revision"] ? " (current)" : ""} ${((r.spec.template.spec || {}).containers || []).map((c) => c.image).join(",")}`);
        const d = section(m, "deployments", "Deployments", ["Name", "Ready", "Up to date", "Rollout", "Revisions", "Actions"]);
        fill(d, deps, deps.list().sort(byName).map((o) => {
          const st = o.status || {};
          const paused = (o.spec || {}).paused;
          return `<tr data-name="${esc(key(o))}"><th scope="row">${esc(key(o))}</th><td>${st.readyReplicas || 0}/${o.spec.replicas ?? 1}</td><td>${st.updatedReplicas || 0}</td><td data-col="rollout">${esc(paused ? "paused" : rolloutState(o))}</td><td>${esc(revs(o).join(" · "))}</td><td class="actions">${button("scale", "Scale", o, "deployments", ` data-replicas="${o.spec.replicas ?? 1}"`)}${button("restart", "Restart", o, "deployments")}${button("undo", "Undo", o, "deployments")}${paused ? button("resume", "Resume", o, "deployments") : button("pause", "Pause", o, "deployments")}</td></tr>`;
        }));
        const r = section(m, "replicasets", "ReplicaSets", ["Name", "Ready", "Revision", "Owner", "Actions"]);
        fill(r, rss, rsList.sort(byName).map((o) => `<tr data-name="${esc(key(o))}"><th scope="row">${esc(key(o))}</th><td>${(o.status || {}).readyReplicas || 0}/${o.spec.replicas ?? 1}</td><td>${esc((o.metadata.annotations || {})["deployment.kubernetes.io/revision"] || "")}</td><td>${esc(((o.metadata.ownerReferences || [])[0] || {}).name || "—")}</td><td class="actions">${button("scale", "Scale", o, "replicasets", ` data-replicas="${o.spec.replicas ?? 1}"`)}</td></tr>`));
        const ds = section(m, "daemonsets", "DaemonSets", ["Name", "Desired", "Ready", "Up to date", "Rollout", "Actions"]);
        fill(ds, dss, dss.list().sort(byName).map((o) => { const st = o.status || {}; return `<tr data-name="${esc(key(o))}"><th scope="row">${esc(key(o))}</th><td>${st.desiredNumberScheduled || 0}</td><td>${st.numberReady || 0}</td><td>${st.updatedNumberScheduled || 0}</td><td data-col="rollout">${esc(daemonSetRollout(o))}</td><td class="actions">${button("restart", "Restart", o, "daemonsets")}</td></tr>`; }));
        const ss = section(m, "statefulsets", "StatefulSets", ["Name", "Ready", "Rollout", "Revisions (current → update)", "Actions"]);
        fill(ss, stss, stss.list().sort(byName).map((o) => { const st = o.status || {}; const revs = [...new Set([st.currentRevision, st.updateRevision].filter(Boolean))]; return `<tr data-name="${esc(key(o))}"><th scope="row">${esc(key(o))}</th><td>${st.readyReplicas || 0}/${o.spec.replicas ?? 1}</td><td data-col="rollout">${esc(statefulSetRollout(o))}</td><td>${esc(revs.join(" → ") || "—")}</td><td class="actions">${button("scale", "Scale", o, "statefulsets", ` data-replicas="${o.spec.replicas ?? 1}"`)}${button("restart", "Restart", o, "statefulsets")}</td></tr>`; }));
        const j = section(m, "jobs", "Jobs", ["Name", "Completions", "Active", "Failed", "State"]);
        fill(j, jobs, jobs.list().sort(byName).map((o) => { const st = o.status || {}; const done = cond(o, "Complete"), failed = cond(o, "Failed"); return `<tr data-name="${esc(key(o))}"><th scope="row">${esc(key(o))}</th><td>${st.succeeded || 0}/${(o.spec || {}).completions ?? 1}</td><td>${st.active || 0}</td><td>${st.failed || 0}</td><td>${done && done.status === "True" ? "Complete" : failed && failed.status === "True" ? "Failed" : "Running"}</td></tr>`; }));
        const c = section(m, "cronjobs", "CronJobs", ["Name", "Schedule", "Suspended", "Active", "Last schedule"]);
        fill(c, cjs, cjs.list().sort(byName).map((o) => `<tr data-name="${esc(key(o))}"><th scope="row">${esc(key(o))}</th><td>${esc(o.spec.schedule)}</td><td>${o.spec.suspend ? "yes" : "no"}</td><td>${((o.status || {}).active || []).length}</td><td>${esc(age((o.status || {}).lastScheduleTime))}</td></tr>`));
      });
  },

  pods(main) {
    main.innerHTML = `<h1>Pods</h1><p><label for="pod-filter">Filter</label> <input id="pod-filter" type="search" placeholder="name, namespace, node or status"></p>`;
    const p = page(main, ["/api/v1/pods"], (m, pods) => {
      const q = (($("#pod-filter", m) || {}).value || "").toLowerCase();
      const s = section(m, "pod-list", "Pods", ["Name", "Status", "Ready", "Restarts", "Node", "IP", "Age", "Actions"]);
      fill(s, pods, pods.list().filter((o) => !q || `${key(o)} ${(o.spec || {}).nodeName || ""} ${podStatus(o)}`.toLowerCase().includes(q)).sort(byName).map((o) => {
        const cs = (o.status || {}).containerStatuses || [];
        const ready = cs.filter((c) => c.ready).length;
        const restarts = cs.reduce((n, c) => n + (c.restartCount || 0), 0);
        return `<tr data-name="${esc(key(o))}"><th scope="row"><a href="#/pod/${encodeURIComponent(o.metadata.namespace)}/${encodeURIComponent(o.metadata.name)}">${esc(key(o))}</a></th><td data-col="status">${esc(podStatus(o))}</td><td>${ready}/${((o.spec || {}).containers || []).length}</td><td>${restarts}</td><td>${esc((o.spec || {}).nodeName || "—")}</td><td>${esc((o.status || {}).podIP || "—")}</td><td>${esc(age(o.metadata.creationTimestamp))}</td><td class="actions">${button("delete", "Delete", o, "pods")}</td></tr>`;
      }));
    });
    main.querySelector("#pod-filter").addEventListener("input", p.render);
    return p;
  },

  pod(main, ns, name) {
    main.innerHTML = `<h1>Pod ${esc(ns)}/${esc(name)}</h1><p id="pod-summary"></p><section id="log"><h2>Log (live)</h2><label for="log-container">Container</label> <select id="log-container"></select><pre id="log-tail" tabindex="0" aria-live="off"></pre></section>`;
    const base = `/api/v1/namespaces/${encodeURIComponent(ns)}`;
    let logAbort = null, logFor = null;
    const follow = async (container) => {
      if (logAbort) logAbort.abort();
      const abort = new AbortController();
      logAbort = abort;
      logFor = container;
      const pre = $("#log-tail", main);
      pre.textContent = "";
      try {
        const r = await request(`/ui/api${base}/pods/${encodeURIComponent(name)}/log?follow=true&tailLines=200&container=${encodeURIComponent(container)}`, { signal: abort.signal });
        if (!r.ok) throw new ApiError(await r.json().catch(() => ({})), r.status);
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          pre.textContent += dec.decode(value, { stream: true });
          if (pre.textContent.length > 200000) pre.textContent = pre.textContent.slice(-100000);
          pre.scrollTop = pre.scrollHeight;
        }
      } catch (e) {
        if (e instanceof ApiError) pre.textContent = e.message;
      }
      // the container restarted, the node was unreachable or the master went away: follow again
      if (!abort.signal.aborted) setTimeout(() => { if (!abort.signal.aborted) follow(container); }, 3000);
    };
    const p = page(main, [`${base}/pods?fieldSelector=metadata.name%3D${encodeURIComponent(name)}`, `${base}/events?fieldSelector=involvedObject.name%3D${encodeURIComponent(name)}`], (m, pods, events) => {
      const o = pods.list()[0];
      $("#pod-summary", m).textContent = o ? `${podStatus(o)} on ${(o.spec || {}).nodeName || "no node yet"}, IP ${(o.status || {}).podIP || "none"}` : (pods.loaded ? "no such pod" : "loading…");
      const s = section(m, "containers", "Containers", ["Name", "Image", "Ready", "Restarts", "State", "Probes"]);
      const statuses = new Map((((o || {}).status || {}).containerStatuses || []).map((c) => [c.name, c]));
      const containers = o ? o.spec.containers || [] : [];
      fill(s, pods, containers.map((c) => {
        const st = statuses.get(c.name) || {};
        const state = Object.keys(st.state || {})[0] || "waiting";
        const probes = ["livenessProbe", "readinessProbe", "startupProbe"].filter((k) => c[k]).map((k) => {
          const pr = c[k];
          const how = pr.httpGet ? `http ${pr.httpGet.path || "/"}:${pr.httpGet.port}` : pr.tcpSocket ? `tcp ${pr.tcpSocket.port}` : pr.exec ? `exec ${(pr.exec.command || []).join(" ")}` : pr.grpc ? `grpc ${pr.grpc.port}` : "?";
          return `${k.replace("Probe", "")}: ${how}, every ${pr.periodSeconds ?? 10}s, fails after ${pr.failureThreshold ?? 3}`;
        });
        return `<tr data-name="${esc(c.name)}"><th scope="row">${esc(c.name)}</th><td>${esc(c.image)}</td><td>${st.ready ? "yes" : "no"}</td><td>${st.restartCount || 0}</td><td>${esc(state)}</td><td>${esc(probes.join("; ") || "—")}</td></tr>`;
      }));
      const sel = $("#log-container", m);
      if (containers.length && sel.options.length !== containers.length) {
        sel.innerHTML = containers.map((c) => `<option>${esc(c.name)}</option>`).join("");
      }
      if (containers.length && logFor === null) follow(containers[0].name);
      const e = section(m, "pod-events", "Events", ["Last seen", "Type", "Reason", "Message"]);
      fill(e, events, events.list().filter((x) => x.involvedObject.name === name && x.involvedObject.kind === "Pod")
        .sort((a, b) => String(b.lastTimestamp || "").localeCompare(String(a.lastTimestamp || "")))
        .map((x) => `<tr data-name="${esc(key(x))}"><td>${esc(age(x.lastTimestamp || x.eventTime))}</td><td>${esc(x.type)}</td><td>${esc(x.reason)}</td><td>${esc(x.message)}</td></tr>`));
    });
    $("#log-container", main).addEventListener("change", (ev) => follow(ev.target.value));
    return { render: p.render, cleanup: () => { if (logAbort) logAbort.abort(); p.cleanup(); } };
  },

  services(main) {
    main.innerHTML = "<h1>Services</h1>";
    return page(main, ["/api/v1/services", "/api/v1/endpoints"], (m, svcs, eps) => {
      const s = section(m, "service-list", "Services", ["Name", "Type", "Cluster IP", "Ports", "Endpoints ready", "Not ready"]);
      fill(s, svcs, svcs.list().sort(byName).map((o) => {
        const ep = eps.items.get(key(o)) || {};
        let ready = 0, notReady = 0;
        for (const sub of ep.subsets || []) { ready += (sub.addresses || []).length; notReady += (sub.notReadyAddresses || []).length; }
        const ports = ((o.spec || {}).ports || []).map((p) => `${p.port}${p.nodePort ? ":" + p.nodePort : ""}/${p.protocol || "TCP"}`);
        return `<tr data-name="${esc(key(o))}"><th scope="row">${esc(key(o))}</th><td>${esc(o.spec.type || "ClusterIP")}</td><td>${esc(o.spec.clusterIP || "—")}</td><td>${esc(ports.join(", "))}</td><td data-col="ready">${ready}</td><td data-col="not-ready">${notReady}</td></tr>`;
      }));
    });
  },

  events(main) {
    main.innerHTML = `<h1>Events</h1><p class="filters"><label for="event-filter">Filter</label> <input id="event-filter" type="search" placeholder="namespace, object, reason or message"> <label for="event-type">Type</label> <select id="event-type"><option value="">all</option><option>Normal</option><option>Warning</option></select></p>`;
    const p = page(main, ["/api/v1/events"], (m, events) => {
      const q = (($("#event-filter", m) || {}).value || "").toLowerCase();
      const t = ($("#event-type", m) || {}).value || "";
      const s = section(m, "event-list", "Events", ["Last seen", "Type", "Namespace", "Object", "Reason", "Message", "Count"]);
      fill(s, events, events.list()
        .filter((e) => (!t || e.type === t) && (!q || `${e.metadata.namespace}/${e.involvedObject.name} ${e.involvedObject.kind} ${e.reason} ${e.message}`.toLowerCase().includes(q)))
        .sort((a, b) => String(b.lastTimestamp || "").localeCompare(String(a.lastTimestamp || ""))).slice(0, 500)
        .map((e) => `<tr data-name="${esc(key(e))}"><td>${esc(age(e.lastTimestamp || e.eventTime))}</td><td>${esc(e.type)}</td><td>${esc(e.metadata.namespace)}</td><td>${esc(e.involvedObject.kind)}/${esc(e.involvedObject.name)}</td><td>${esc(e.reason)}</td><td>${esc(e.message)}</td><td>${e.count || 1}</td></tr>`));
    });
    main.querySelector("#event-filter").addEventListener("input", p.render);
    main.querySelector("#event-type").addEventListener("change", p.render);
    return p;
  },

  config(main) {
    main.innerHTML = "<h1>Config</h1>";
    const secrets = section(main, "secret-list", "Secrets (names and keys only)", ["Name", "Type", "Keys"]);
    const loadSecrets = async () => {
      try {
        const v = await getJSON("/ui/secrets");
        fill(secrets, null, v.items.map((x) => `<tr data-name="${esc(x.namespace)}/${esc(x.name)}"><th scope="row">${esc(x.namespace)}/${esc(x.name)}</th><td>${esc(x.type)}</td><td>${esc(x.keys.join(", "))}</td></tr>`));
      } catch (e) { secrets.querySelector(".note").textContent = e.message; }
    };
    loadSecrets();
    const timer = setInterval(loadSecrets, 10000);
    const p = page(main, ["/api/v1/configmaps"], (m, cms) => {
      const s = section(m, "configmap-list", "ConfigMaps", ["Name", "Keys", "Age"]);
      m.insertBefore(s, secrets);
      fill(s, cms, cms.list().sort(byName).map((o) => `<tr data-name="${esc(key(o))}"><th scope="row">${esc(key(o))}</th><td>${esc(Object.keys(o.data || {}).join(", "))}</td><td>${esc(age(o.metadata.creationTimestamp))}</td></tr>`));
    });
    return { render: p.render, cleanup: () => { clearInterval(timer); p.cleanup(); } };
  },

  apply(main) {
    main.innerHTML = `<h1>Apply a manifest</h1><form id="apply-form"><label for="manifest">YAML manifest (one or more documents)</label><textarea id="manifest" rows="18" spellcheck="false"></textarea><div class="buttons"><button id="dry-run" type="button">Preview (server-side dry run)</button><button id="apply" type="button" class="danger">Apply</button></div></form><section id="apply-results" aria-live="polite"></section>`;
    const out = $("#apply-results", main);
    const show = (res) => {
      out.innerHTML = `<h2>${res.dryRun ? "Preview (nothing stored)" : "Applied"}</h2><ul>${res.results.map((r) => {
        const what = `${esc(r.kind)} ${esc(r.namespace ? r.namespace + "/" : "")}${esc(r.name)}`;
        if (!r.status) return `<li class="ok">${what}: ${esc(r.action)}${res.dryRun ? " (dry run)" : ""}</li>`;
        const causes = ((r.status.details || {}).causes || []);
        return `<li class="bad">${what}: ${esc(r.status.message)}${causes.length ? `<ul>${causes.map((c) => `<li class="field-error" data-field="${esc(c.field)}"><code>${esc(c.field)}</code>: ${esc(c.message)}</li>`).join("")}</ul>` : ""}</li>`;
      }).join("")}</ul>`;
      return res.results.every((r) => !r.status);
    };
    const run = async (dryRun) => {
      try { return show(await act("apply", { manifest: $("#manifest", main).value, dryRun })); }
      catch (e) {
        const causes = ((e.status || {}).details || {}).causes || [];
        out.innerHTML = `<p class="bad">${esc(e.message)}</p><ul>${causes.map((c) => `<li class="field-error" data-field="${esc(c.field)}">${esc(c.message)}</li>`).join("")}</ul>`;
        return false;
      }
    };
    $("#dry-run", main).addEventListener("click", () => run(true));
    $("#apply", main).addEventListener("click", async () => {
      if (!(await run(true))) return; // the preview first; errors stop here
      if (await confirmDialog("Apply this manifest as previewed?") !== null) run(false);
    });
    return { cleanup: () => {} };
  },
};

// ---- actions ----

function confirmDialog(text, replicas = null) {
  return new Promise((resolve) => {
    const d = $("#confirm");
    $("#confirm-text").textContent = text;
    const extra = $("#confirm-extra");
    extra.hidden = replicas === null;
    if (replicas !== null) $("#scale-replicas").value = replicas;
    d.returnValue = "";
    d.addEventListener("close", () => {
      if (d.returnValue !== "yes") return resolve(null);
      resolve(replicas === null ? true : Number($("#scale-replicas").value));
    }, { once: true });
    d.showModal();
    (replicas === null ? $("#confirm-yes") : $("#scale-replicas")).focus();
  });
}

const VERBS = { scale: "Scale", restart: "Restart the rollout of", undo: "Roll back", pause: "Pause the rollout of", resume: "Resume the rollout of", delete: "Delete", cordon: "Cordon", uncordon: "Uncordon", drain: "Drain (cordon, then evict every pod but DaemonSets') of" };

document.addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-action]");
  if (!b) return;
  const { action, resource, namespace, name } = b.dataset;
  const what = `${resource.replace(/s$/, "")} ${namespace ? namespace + "/" : ""}${name}`;
  const answer = await confirmDialog(`${VERBS[action]} ${what}?`, action === "scale" ? Number(b.dataset.replicas || 1) : null);
  if (answer === null) return;
  const body = { resource, name, ...(namespace ? { namespace } : {}) };
  if (action === "scale") body.replicas = answer;
  try { toast((await act(action, body)).message); } catch (e) { toast(e.message, true); }
});

// ---- routing ----

function route() {
  const [, name = "cluster", ...args] = (location.hash || "#/cluster").split("/");
  const render = PAGES[name] || PAGES.cluster;
  if (current) current.cleanup();
  document.querySelectorAll("nav a").forEach((a) => {
    if (a.dataset.page === (name === "pod" ? "pods" : name)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  const main = $("#main");
  current = render(main, ...args.map(decodeURIComponent));
  document.title = `${name} · coxswain`;
}

async function start() {
  conn.set("connecting", "connecting");
  session = await getJSON("/ui/session");
  $("#user").textContent = session.user;
  conn.ok();
  getJSON("/ui/masters").then((m) => { conn.masters = m.urls; }).catch(() => {});
  setInterval(() => getJSON("/ui/masters").then((m) => { conn.masters = m.urls; }).catch(() => {}), 30000);
  $("#logout").addEventListener("click", async () => {
    await request("/ui/logout", { method: "POST", headers: { "X-CSRF-Token": session.csrf } });
    location.assign("/ui/login");
  });
  window.addEventListener("hashchange", route);
  route();
}

start().catch((e) => { conn.set("down", e.message); conn.lost(() => location.reload()); });
