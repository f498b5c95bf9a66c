// The broadcaster page: log in as a creator, pick or create a stream, choose camera or screen
// (plus microphone), go live over WebRTC with three simulcast layers, watch the audience count
// and the chat, end the stream. Signalling and chat share one WebSocket (docs/protocol.md).
import { LiveMedia } from "/bundles/live-media.js";
import { Requests } from "/requests.js";

const $ = (id) => document.getElementById(id);
const state = { token: null, me: null, ws: null, stream: null, media: null, lastSeq: 0 };
const reqs = new Requests("b");

async function http(method, path, body) {
  const headers = { "content-type": "application/json", ...(state.token ? { authorization: `Bearer ${state.token}` } : {}) };
  const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error?.message ?? res.statusText);
  return data;
}

const request = (t, d) => reqs.request(t, d);

function connect() {
  return new Promise((resolve, reject) => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws?format=json&token=${encodeURIComponent(state.token)}`);
    state.ws = ws;
    reqs.ws = ws;
    ws.onopen = () => {
      $("conn").textContent = "online";
      $("conn").classList.add("online");
      resolve();
    };
    ws.onerror = () => reject(new Error("WebSocket failed"));
    ws.onmessage = (m) => onFrame(JSON.parse(m.data));
    ws.onclose = (ev) => {
      $("conn").textContent = "offline";
      $("conn").classList.remove("online");
      reqs.failAll();
      state.media?.close();
      if (state.stream) $("error").textContent = `Disconnected (${ev.code}): reload to go live again`;
    };
  });
}

function onFrame(f) {
  if (reqs.answer(f)) return;
  if (state.media?.onNotice(f)) return;
  if (f.t === "room" && f.d.room === state.stream) for (const it of f.d.items) onRoomItem(it);
}

function onRoomItem(it) {
  if (it.kind === "presence") $("viewers").textContent = `${it.count} watching`;
  if (it.kind !== "chat" || it.seq <= state.lastSeq) return;
  state.lastSeq = it.seq;
  const li = document.createElement("li");
  li.append(Object.assign(document.createElement("span"), { className: "who", textContent: it.user.name }), Object.assign(document.createElement("span"), { className: "text", textContent: it.text }));
  $("messages").append(li);
}

async function loadStreams() {
  const mine = await http("GET", `/api/streams?ownerId=${encodeURIComponent(state.me.id)}&status=created`);
  $("stream").replaceChildren(...mine.map((s) => Object.assign(document.createElement("option"), { value: s.id, textContent: s.title })));
}

async function capture(source) {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true }).catch(() => null);
  const video = source === "screen"
    ? await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 } })
    : await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 } });
  return new MediaStream([...video.getVideoTracks(), ...(mic ? mic.getAudioTracks() : [])]);
}

async function goLive(ev) {
  ev.preventDefault();
  $("error").textContent = "";
  $("go").disabled = true;
  try {
    const title = $("new-title").value.trim();
    state.stream = title ? (await http("POST", "/api/streams", { title, kind: "live" })).id : $("stream").value;
    if (!state.stream) throw new Error("Pick a stream or give a new one a title");
    const source = new FormData($("setup")).get("source");
    const media = await capture(source);
    $("preview").srcObject = media;
    const room = await request("room.join", { room: state.stream });
    $("viewers").textContent = `${room.presence.count} watching`;
    for (const e of room.events) onRoomItem(e);
    await publish(media, source);
    $("end").disabled = false;
  } catch (e) {
    $("error").textContent = e.message;
    $("go").disabled = false;
  }
}

window.mediaStates = []; // what the media layer went through, for tests and the console
// Publishes; when the media node says "reconnect" (its worker died), publishes again.
async function publish(media, source, attempt = 0) {
  state.media = new LiveMedia(request, state.stream, {
    onState: (s) => {
      window.mediaStates.push(s);
      $("state").textContent = s;
      if (s === "reconnect") setTimeout(() => publish(media, source), 300);
    },
  });
  window.liveMedia = state.media;
  try {
    await state.media.broadcast(media, source);
  } catch (e) {
    $("error").textContent = e.message;
    state.media.close();
    // A media node restarting its worker answers UNAVAILABLE for a moment: try again.
    if (attempt < 8 && state.ws?.readyState === 1) setTimeout(() => publish(media, source, attempt + 1), 500 * 2 ** Math.min(attempt, 4));
    else throw e;
    return;
  }
  $("error").textContent = "";
  $("state").textContent = "live";
}

$("end").onclick = async () => {
  await request("media.end", { stream: state.stream }).catch((e) => ($("error").textContent = e.message));
  for (const t of $("preview").srcObject?.getTracks() ?? []) t.stop();
  $("end").disabled = true;
  $("state").textContent = "ended";
};

setInterval(async () => {
  if (!state.media || state.media.closed) return;
  const s = await state.media.stats();
  $("stats").textContent = `sending ${s.kbps} kbit/s · ${s.width}x${s.height}`;
}, 1000);

$("login").onsubmit = async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const tokens = await http("POST", "/api/auth/login", { username: f.get("username"), password: f.get("password") });
    state.token = tokens.accessToken;
    state.me = tokens.user;
    if (state.me.role === "viewer") throw new Error("Only creators can go live");
    await connect();
    await loadStreams();
    $("auth").hidden = true;
    $("studio").hidden = false;
  } catch (e) {
    $("auth-error").textContent = e.message;
  }
};
$("setup").onsubmit = goLive;
