// Pure helpers of the dashboard: quantities, ages, rollout state, the SVG chart.

const SUFFIX = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

function quantity(q) {
  if (q === undefined || q === null || q === "") return 0;
  const m = /^([0-9.]+(?:e[0-9]+)?)([a-zA-Z]*)$/.exec(String(q));
  if (!m || !(m[2] in SUFFIX)) return 0;
  return Number(m[1]) * SUFFIX[m[2]];
}

export const cpuCores = quantity;
export const memBytes = quantity;

export function fmtCpu(cores) {
  return cores >= 1 ? `${+cores.toFixed(2)}` : `${Math.round(cores * 1000)}m`;
}

export function fmtMem(bytes) {
  const units = ["", "Ki", "Mi", "Gi", "Ti"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
  return `${+bytes.toFixed(1)}${units[i]}`;
}

export function age(ts) {
  if (!ts) return "—";
  const s = Math.max(0, (Date.now() - Date.parse(ts)) / 1000);
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

// As `cox rollout status` says it (cli/commands/rollout.py rollout_status).
export function rolloutState(d) {
  const spec = d.spec || {}, st = d.status || {};
  if ((st.observedGeneration || 0) < (d.metadata.generation || 0)) return "waiting for the spec to be observed";
  if ((st.conditions || []).some((c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded")) return "failed: progress deadline exceeded";
  const want = spec.replicas ?? 1, updated = st.updatedReplicas || 0, replicas = st.replicas || 0, available = st.availableReplicas || 0;
  if (updated < want) return `rolling out: ${updated} of ${want} updated`;
  if (replicas > updated) return `rolling out: ${replicas - updated} old pending termination`;
  if (available < updated) return `rolling out: ${available} of ${updated} available`;
  return "complete";
}

// As kubectl rollout status says it for a DaemonSet.
export function daemonSetRollout(d) {
  const st = d.status || {};
  if ((st.observedGeneration || 0) < (d.metadata.generation || 0)) return "waiting for the spec to be observed";
  const want = st.desiredNumberScheduled || 0, updated = st.updatedNumberScheduled || 0, available = st.numberAvailable || 0;
  if (updated < want) return `rolling out: ${updated} of ${want} updated`;
  if (available < want) return `rolling out: ${available} of ${want} available`;
  return "complete";
}

// As kubectl rollout status says it for a StatefulSet (RollingUpdate).
export function statefulSetRollout(s) {
  const spec = s.spec || {}, st = s.status || {};
  if ((st.observedGeneration || 0) < (s.metadata.generation || 0)) return "waiting for the spec to be observed";
  const want = spec.replicas ?? 1, ready = st.readyReplicas || 0;
  if (ready < want) return `rolling out: ${ready} of ${want} ready`;
  if (st.updateRevision && st.updateRevision !== st.currentRevision) return `rolling out: ${st.updatedReplicas || 0} of ${want} updated`;
  return "complete";
}

// A small inline SVG line of fractions (0..1) over the last hour; while less
// than an hour is known, over what is known (5 minutes at least), so a young
// history is a line, not a dot at the right edge.
export function chart(points, label) {
  const w = 120, h = 28, now = Date.now();
  const last = points.length ? points[points.length - 1][1] : null;
  const span = Math.min(3600e3, Math.max(300e3, now - (points.length ? points[0][0] : now)));
  const path = points.map(([t, v]) => `${(w - ((now - t) / span) * w).toFixed(1)},${(h - Math.min(1, Math.max(0, v)) * h).toFixed(1)}`).join(" ");
  const text = last === null ? `${label}: no data yet` : `${label} ${Math.round(last * 100)}% of allocatable, last ${Math.round(span / 60e3)} min`;
  return `<svg class="chart" data-metric="${label}" data-points="${points.length}" data-from="${points.length ? Math.round(points[0][0]) : ""}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${text}"><title>${text}</title><polyline points="${path}"/></svg><span class="chart-label">${text}</span>`;
}
