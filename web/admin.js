// The operators' dashboard: QoE over time (startup, rebuffering, failures, exits before start,
// bitrate), activity (viewers, chat, reactions), server health per node, firing alerts (live over
// the WebSocket) and recent playback errors. Refreshes every 5 s from /api/analytics/dashboard.
import { timeChart } from "/bundles/charts.js";

const $ = (id) => document.getElementById(id);
const state = { token: null, timer: null, charts: null, nodes: [] };
window.dashboardUpdates = 0; // for tests: how many refreshes have been drawn

async function http(method, path, body, retried = false) {
  const res = await fetch(path, { method, headers: { "content-type": "application/json", ...(state.token ? { authorization: `Bearer ${state.token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && data.error?.code === "TOKEN_EXPIRED" && state.refresh && !retried) {
    await refreshTokens();
    return http(method, path, body, true);
  }
  if (!res.ok) throw new Error(data.error?.message ?? res.statusText);
  return data;
}

/** The access token expired: swap the refresh token (it rotates) for new ones. */
async function refreshTokens() {
  const res = await fetch("/api/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refreshToken: state.refresh }) });
  const t = await res.json();
  if (!res.ok) throw new Error("Session expired: log in again");
  state.token = t.accessToken;
  state.refresh = t.refreshToken;
}

const secs = (minute) => Date.parse(`${minute.replace(" ", "T")}Z`) / 1000;

function makeCharts() {
  return {
    startup: timeChart($("c-startup"), "Video startup time (ms)", ["p50", "p95"]),
    quality: timeChart($("c-quality"), "Rebuffering, failures, exits before start (%)", ["rebuffer %", "failure %", "EBVS %"]),
    bitrate: timeChart($("c-bitrate"), "Average bitrate (kbit/s) and switches per view", ["kbit/s", "switches/view x100"]),
    activity: timeChart($("c-activity"), "Activity per minute", ["viewers", "chat", "reactions", "errors"]),
  };
}

function nodeCharts(nodes) {
  if (state.nodes.join() === nodes.join()) return;
  state.nodes = nodes;
  $("c-cpu").replaceChildren();
  $("c-conns").replaceChildren();
  state.charts.cpu = timeChart($("c-cpu"), "CPU per node (% of a core)", nodes);
  state.charts.conns = timeChart($("c-conns"), "WebSocket connections per node", nodes);
}

function draw(d) {
  const c = state.charts;
  const x = d.qoe.map((r) => secs(r.minute));
  c.startup.set(x, [d.qoe.map((r) => r.startup_ms[0]), d.qoe.map((r) => r.startup_ms[1])]);
  c.quality.set(x, [d.qoe.map((r) => r.rebuffer_pct), d.qoe.map((r) => r.failure_pct), d.qoe.map((r) => r.ebvs_pct)]);
  c.bitrate.set(x, [d.qoe.map((r) => r.avg_bitrate_kbps), d.qoe.map((r) => r.switches_per_view * 100)]);
  const ex = d.engagement.map((r) => secs(r.minute));
  const errs = new Map(d.qoe.map((r) => [secs(r.minute), r.errors]));
  c.activity.set(ex, [d.engagement.map((r) => r.viewers), d.engagement.map((r) => r.chats), d.engagement.map((r) => r.reactions), ex.map((t) => errs.get(t) ?? 0)]);
  const nodes = [...new Set(d.health.map((r) => r.node))].sort();
  nodeCharts(nodes);
  const hx = [...new Set(d.health.map((r) => secs(r.minute)))].sort((a, b) => a - b);
  const at = (node, t, k) => d.health.find((r) => r.node === node && secs(r.minute) === t)?.[k] ?? null;
  c.cpu.set(hx, nodes.map((n) => hx.map((t) => at(n, t, "cpu_pct"))));
  c.conns.set(hx, nodes.map((n) => hx.map((t) => at(n, t, "connections"))));
  const s = d.status;
  $("status").replaceChildren(...[
    `store: ${s.store.kind} (${s.store.dialect}) ${s.store.up ? "up" : "DOWN"}`,
    `backlog: ${s.bus.backlog.pending} ${s.bus.backlog.unit} (${(s.bus.backlog.bytes / 1e6).toFixed(1)} MB)`,
    `stored: ${s.ingest.stored}`,
    `ingest lag p99: ${s.ingest.lagP99Ms} ms`,
    `alerts firing: ${s.alerts.length}`,
  ].map((t) => Object.assign(document.createElement("span"), { textContent: t })));
  if (!$("alerts").children.length) for (const a of s.alerts) addAlert(a);
  $("errors").replaceChildren(...d.errors.map((e) => {
    const tr = document.createElement("tr");
    for (const v of [new Date(e.server_ms).toLocaleTimeString(), e.stream_id, e.code, e.fatal ? "yes" : "no", e.device, e.protocol]) tr.append(Object.assign(document.createElement("td"), { textContent: String(v) }));
    return tr;
  }));
  const sel = $("stream");
  const known = new Set([...sel.options].map((o) => o.value));
  for (const id of d.streams) if (!known.has(id)) sel.append(new Option(id, id));
}

function addAlert(a) {
  const li = Object.assign(document.createElement("li"), { className: a.state, textContent: `${new Date(a.at).toLocaleTimeString()} ${a.state}: ${a.rule} — ${a.metric} ${Number(a.value).toFixed(2)} (threshold ${a.threshold})${a.stream ? ` · stream ${a.stream}` : ""}` });
  $("alerts").prepend(li);
  while ($("alerts").children.length > 50) $("alerts").lastChild.remove();
}

async function refresh() {
  try {
    const q = new URLSearchParams({ minutes: $("minutes").value, ...($("stream").value ? { stream: $("stream").value } : {}) });
    draw(await http("GET", `/api/analytics/dashboard?${q}`));
    window.dashboardUpdates++;
    $("board-error").textContent = "";
  } catch (e) {
    $("board-error").textContent = e.message;
  }
}

function alertsSocket(backoff = 500) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws?format=json&token=${encodeURIComponent(state.token)}`);
  ws.onopen = () => {
    $("conn").textContent = "live";
    $("conn").classList.add("online");
  };
  ws.onmessage = (m) => {
    const f = JSON.parse(m.data);
    if (f.t === "alert") addAlert(f.d);
  };
  ws.onclose = (ev) => {
    $("conn").textContent = "offline";
    $("conn").classList.remove("online");
    if (ev.code >= 4500) return;
    // An expired token closes the socket: refresh it first, then reconnect.
    setTimeout(() => refreshTokens().catch(() => undefined).then(() => alertsSocket(Math.min(backoff * 2, 30000))), backoff);
  };
}

$("login").onsubmit = async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const t = await http("POST", "/api/auth/login", { username: f.get("username"), password: f.get("password") });
    if (t.user?.role !== "admin") throw new Error("This page is for admins");
    state.token = t.accessToken;
    state.refresh = t.refreshToken;
  } catch (e) {
    return ($("auth-error").textContent = e.message);
  }
  $("login").hidden = true;
  $("board").hidden = false;
  state.charts = makeCharts();
  alertsSocket();
  await refresh();
  state.timer = setInterval(refresh, 5000);
};
$("stream").onchange = refresh;
$("minutes").onchange = refresh;
