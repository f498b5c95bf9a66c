// The viewer page: join a stream's room as a guest or a logged-in user, chat, react, vote,
// see who is here; moderation controls for the room's owner. One WebSocket (JSON frames),
// reconnecting with backoff and recovering missed messages by seq (docs/protocol.md).
// The live video plays over WebRTC (LiveMedia: mediasoup-client over the same socket), with a
// quality choice and a stats overlay.
import { LiveMedia } from "/bundles/live-media.js";
import { Requests } from "/requests.js";
import { Telemetry } from "/bundles/telemetry.js";
const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "👏", "🔥", "🎉"];
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const reqs = new Requests("r");
const state = { token: null, me: null, room: params.get("room"), lastSeq: 0, ws: null, owner: null, joined: false, buffer: [], backoff: 500 };

async function http(method, path, body, token) {
  const res = await fetch(path, { method, headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error?.message ?? res.statusText);
  return data;
}

async function start(tokens) {
  state.token = tokens.accessToken;
  state.me = tokens.user;
  if (!state.room) {
    const live = await http("GET", "/api/streams?limit=1");
    state.room = live[0]?.id;
  }
  if (!state.room) return ($("auth-error").textContent = "No stream to join");
  const stream = await http("GET", `/api/streams/${encodeURIComponent(state.room)}`);
  $("title").textContent = stream.title;
  state.owner = stream.ownerId;
  $("auth").hidden = true;
  $("room").hidden = false;
  $("poll-form").hidden = !isModerator();
  // Telemetry over this page's WebSocket; a batch sent while it is down is sent again (retry).
  state.telemetry ??= new Telemetry({
    send: (events, retry) => (state.ws?.readyState === 1 ? request("events", { events, retry }) : Promise.reject(new Error("offline"))),
    beacon: () => ({ url: "/api/events", token: state.token }),
    onExit: () => state.joined && track("exit"),
  });
  window.telemetry = state.telemetry;
  connect();
}

const track = (type, fields = {}) => state.telemetry?.track(type, { stream: state.room, ...fields });

const isModerator = () => state.me && (state.me.id === state.owner || state.me.role === "admin");

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws?format=json&token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  reqs.ws = ws;
  state.joined = false;
  ws.onopen = async () => {
    $("conn").textContent = "online";
    $("conn").classList.add("online");
    state.backoff = 500;
    const ans = await request("room.join", state.lastSeq ? { room: state.room, since: state.lastSeq } : { room: state.room }).catch((e) => ($("room-error").textContent = e.message));
    if (!ans || typeof ans !== "object") return;
    if (ans.reset) $("messages").replaceChildren();
    for (const e of ans.events) applyEvent(e);
    for (const p of ans.polls) renderPoll(p);
    renderPresence(ans.presence);
    track("join");
    state.joined = true;
    for (const items of state.buffer.splice(0)) applyItems(items);
    watch();
  };
  ws.onmessage = (m) => onFrame(JSON.parse(m.data));
  ws.onclose = (ev) => {
    $("conn").textContent = "offline";
    $("conn").classList.remove("online");
    state.media?.close();
    reqs.failAll();
    if (ev.code >= 4500 && ev.code < 5000) return ($("room-error").textContent = `Disconnected: ${ev.reason || ev.code}`);
    setTimeout(connect, state.backoff + Math.random() * 250);
    state.backoff = Math.min(state.backoff * 2, 30000);
  };
}

const request = (t, d) => reqs.request(t, d);

function onFrame(f) {
  if (reqs.answer(f)) return;
  if (state.media?.onNotice(f)) return;
  if (f.t === "room" && f.d.room === state.room) return state.joined ? applyItems(f.d.items) : state.buffer.push(f.d.items);
  if (f.t === "room.kicked") {
    $("room-error").textContent = "You were removed from this room";
    $("chat-input").disabled = true;
  }
}

// Live video: watch after each (re)join; a media node that lost its worker says "reconnect".
async function watch(attempt = 0) {
  state.media?.close();
  const media = new LiveMedia(request, state.room, { onState: onMediaState });
  state.media = media;
  window.liveMedia = media; // for the stats overlay in tests and the console
  state.view?.end();
  state.view = state.telemetry.watch($("video"), { stream: state.room, protocol: "webrtc" });
  try {
    await media.watch($("video"));
    $("video-state").textContent = media.consumers.size ? "live" : "waiting for the broadcaster";
  } catch (e) {
    $("video-state").textContent = `video unavailable: ${e.message}`;
    state.view?.error("WEBRTC_UNAVAILABLE", attempt >= 8);
    // A media node restarting its worker answers UNAVAILABLE for a moment: try again.
    if (state.ws?.readyState === 1 && attempt < 8) setTimeout(() => watch(attempt + 1), 500 * 2 ** Math.min(attempt, 4));
  }
}

window.mediaStates = []; // what the media layer went through, for tests and the console
function onMediaState(s) {
  window.mediaStates.push(s);
  if (s === "reconnect") setTimeout(watch, 500 + Math.random() * 500);
  $("video-state").textContent = s === "ended" ? "the stream has ended" : s;
}

setInterval(async () => {
  if (!state.media || state.media.closed) return;
  const s = await state.media.stats();
  $("stats").textContent = `${s.width}x${s.height} · ${s.kbps} kbit/s · ${Math.round(s.fps)} fps · ~${s.latencyMs ?? "?"} ms`;
  $("quality-now").textContent = s.height ? `${s.height}p` : "";
}, 1000);

function applyItems(items) {
  for (const it of items) {
    if (it.seq !== undefined) applyEvent(it);
    else if (it.kind === "reactions") renderReactions(it.counts);
    else if (it.kind === "poll.tally") renderPoll(it.poll);
    else if (it.kind === "presence") renderPresence(it);
  }
}

function applyEvent(e) {
  if (e.seq <= state.lastSeq) return; // already seen (join answer and live overlap)
  state.lastSeq = e.seq;
  if (e.kind === "chat") addMessage(e);
  else if (e.kind === "deleted") markDeleted(e.target);
  else if (e.kind === "poll.opened" || e.kind === "poll.closed") renderPoll(e.poll);
}

function addMessage(e) {
  const li = document.createElement("li");
  li.dataset.seq = e.seq;
  const who = Object.assign(document.createElement("span"), { className: "who", textContent: e.user.name });
  const text = Object.assign(document.createElement("span"), { className: "text", textContent: e.text });
  li.append(who, text);
  if (isModerator() && e.user.id !== state.me.id) {
    const mod = Object.assign(document.createElement("span"), { className: "mod" });
    for (const [label, t, d] of [["delete", "room.delete", { seq: e.seq }], ["mute", "room.mute", { userId: e.user.id, seconds: 300 }], ["ban", "room.ban", { userId: e.user.id }]]) {
      const b = Object.assign(document.createElement("button"), { type: "button", textContent: label });
      b.dataset.action = label;
      b.onclick = () => request(t, { room: state.room, ...d }).catch((err) => ($("room-error").textContent = err.message));
      mod.append(b);
    }
    li.append(mod);
  }
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
}

function markDeleted(seq) {
  const li = $("messages").querySelector(`li[data-seq="${seq}"]`);
  if (!li) return;
  li.classList.add("deleted");
  li.querySelector(".text").textContent = "message deleted";
  li.querySelector(".mod")?.remove();
}

const totals = {};
function renderReactions(counts) {
  for (const [emoji, n] of Object.entries(counts)) totals[emoji] = (totals[emoji] ?? 0) + n;
  $("reaction-counts").replaceChildren(...Object.entries(totals).map(([e, n]) => Object.assign(document.createElement("span"), { textContent: `${e} ${n}` })));
}

function renderPoll(p) {
  let box = document.getElementById(`poll-${p.id}`);
  if (!box) {
    box = Object.assign(document.createElement("div"), { id: `poll-${p.id}`, className: "poll" });
    $("polls").prepend(box);
  }
  const q = Object.assign(document.createElement("strong"), { textContent: `${p.question}${p.open ? "" : " (closed)"}` });
  const buttons = p.options.map((o, i) => {
    const b = Object.assign(document.createElement("button"), { type: "button", textContent: `${o} — ${p.counts[i]}`, disabled: !p.open });
    b.onclick = () => {
      track("vote");
      request("room.vote", { room: state.room, pollId: p.id, option: i }).then(renderPoll, (err) => ($("room-error").textContent = err.message));
    };
    return b;
  });
  box.replaceChildren(q, ...buttons);
  if (isModerator() && p.open) {
    const close = Object.assign(document.createElement("button"), { type: "button", textContent: "Close poll" });
    close.onclick = () => request("room.poll.close", { room: state.room, pollId: p.id });
    box.append(close);
  }
}

function renderPresence(p) {
  $("viewers").textContent = `${p.count} watching`;
  $("sample").replaceChildren(...p.sample.map((u) => Object.assign(document.createElement("li"), { textContent: u.name })));
}

$("login").onsubmit = (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  http("POST", "/api/auth/login", { username: f.get("username"), password: f.get("password") }).then(start, (e) => ($("auth-error").textContent = e.message));
};
$("guest").onclick = () => http("POST", "/api/auth/guest").then(start, (e) => ($("auth-error").textContent = e.message));
$("chat-form").onsubmit = (ev) => {
  ev.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text) return;
  request("room.chat", { room: state.room, text }).then(() => ($("room-error").textContent = ""), (e) => ($("room-error").textContent = e.message));
  track("chat");
  input.value = "";
};
$("poll-form").onsubmit = (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const options = String(f.get("options")).split(",").map((s) => s.trim()).filter(Boolean);
  request("room.poll.create", { room: state.room, question: f.get("question"), options }).then(() => ev.target.reset(), (e) => ($("room-error").textContent = e.message));
};
$("quality").onchange = (ev) => {
  state.view?.quality(ev.target.value, 0);
  state.media?.setQuality(ev.target.value).catch((e) => ($("room-error").textContent = e.message));
};
$("reactions").replaceChildren(...REACTIONS.map((e) => {
  const b = Object.assign(document.createElement("button"), { type: "button", textContent: e, title: `react ${e}` });
  b.onclick = () => {
    if (state.ws?.readyState !== 1) return;
    state.ws.send(JSON.stringify({ t: "room.react", d: { room: state.room, emoji: e } }));
    track("reaction", { value: 1 });
  };
  return b;
}));
