// Home page rows from GET /api/recommendations: for you, live now for you, because you watched
// X, trending, popular per category (cold start shows the last two). "Not interested" sends a
// `hide` event; the next list leaves the stream out.
import { token } from "/guest-token.js";

const $ = (id) => document.getElementById(id);

async function load() {
  const t = await token();
  const res = await fetch("/api/recommendations?limit=12", { headers: { authorization: `Bearer ${t}` } });
  if (!res.ok) return;
  const { rows } = await res.json();
  $("recs").replaceChildren(...rows.map((row) => section(row, t)));
  window.recsShown = (window.recsShown ?? 0) + 1; // for tests
}

function section(row, t) {
  const s = Object.assign(document.createElement("section"), { className: "row" });
  s.dataset.reason = row.reason;
  s.append(Object.assign(document.createElement("h2"), { textContent: row.title }));
  const ul = document.createElement("ul");
  for (const it of row.items) {
    const li = document.createElement("li");
    const href = it.kind === "live" ? `/room.html?room=${encodeURIComponent(it.id)}` : `/watch.html?v=${encodeURIComponent(it.id)}`;
    const hide = Object.assign(document.createElement("button"), { type: "button", textContent: "Not interested", title: `Hide ${it.title}` });
    hide.onclick = async () => {
      await fetch("/api/events", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t}` }, body: JSON.stringify({ events: [{ id: crypto.randomUUID(), type: "hide", ts: Date.now(), stream: it.id }] }) });
      setTimeout(load, 1500); // the event lands, the list follows
    };
    li.append(Object.assign(document.createElement("a"), { href, textContent: it.title }), Object.assign(document.createElement("small"), { textContent: `${it.kind === "live" ? "LIVE · " : ""}${it.category}` }), hide);
    ul.append(li);
  }
  s.append(ul);
  return s;
}

load().catch(() => undefined);

// The node's readiness line (was an inline script: the pages' CSP allows our files only).
const status = document.getElementById("status");
if (status) {
  const ready = await fetch("/readyz").then((r) => r.json()).catch(() => null);
  const streams = await fetch("/api/streams?limit=10").then((r) => (r.ok ? r.json() : [])).catch(() => []);
  status.textContent = ready?.ready
    ? `Ready: ${streams.length} stream(s) in the catalog, ${ready.connections} live connection(s) on this node.`
    : "Not ready yet (the sessions actor may still be starting).";
}
