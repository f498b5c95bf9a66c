// The upload page: tus 1.0 in 8 MiB chunks with a progress bar, resuming an interrupted upload of
// the same file (the upload URL is kept in localStorage), then the encoding progress pushed on the
// WebSocket (`encode.progress`), then a link to the watch page.
const CHUNK = 8 * 1024 * 1024;
const $ = (id) => document.getElementById(id);
const state = { token: null, streamId: null };

async function tus(method, url, headers = {}, body) {
  const res = await fetch(url, { method, headers: { "tus-resumable": "1.0.0", authorization: `Bearer ${state.token}`, ...headers }, body });
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error?.message ?? `${method} ${res.status}`);
  return res;
}

const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

/** Where this file's upload stands: a fresh one, or the offset of an interrupted one. */
async function begin(file, title) {
  const saved = localStorage.getItem(`esh.upload.${file.name}.${file.size}`);
  if (saved) {
    const { location, streamId } = JSON.parse(saved);
    const head = await tus("HEAD", location).catch(() => null);
    if (head) return { location, streamId, offset: Number(head.headers.get("upload-offset")) };
  }
  const res = await tus("POST", "/api/uploads", { "upload-length": String(file.size), "upload-metadata": `title ${b64(title)},filename ${b64(file.name)}` });
  const { streamId } = await res.json();
  const location = res.headers.get("location");
  localStorage.setItem(`esh.upload.${file.name}.${file.size}`, JSON.stringify({ location, streamId }));
  return { location, streamId, offset: 0 };
}

function show(bar, text, percent, label) {
  $(bar).value = percent;
  $(text).textContent = label;
}

async function upload(file, title) {
  const up = await begin(file, title);
  state.streamId = up.streamId;
  let offset = up.offset;
  while (offset < file.size) {
    const chunk = file.slice(offset, Math.min(file.size, offset + CHUNK));
    const res = await tus("PATCH", up.location, { "content-type": "application/offset+octet-stream", "upload-offset": String(offset) }, chunk);
    offset = Number(res.headers.get("upload-offset"));
    show("up", "up-text", (100 * offset) / file.size, `${(offset / 1e6).toFixed(1)} / ${(file.size / 1e6).toFixed(1)} MB`);
  }
  localStorage.removeItem(`esh.upload.${file.name}.${file.size}`);
  show("enc", "enc-text", 0, "queued");
}

function listen() {
  return new Promise((resolve, reject) => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws?format=json&token=${encodeURIComponent(state.token)}`);
    ws.onopen = () => {
      $("conn").textContent = "online";
      $("conn").classList.add("online");
      resolve();
    };
    ws.onerror = () => reject(new Error("WebSocket failed"));
    ws.onmessage = (m) => {
      const f = JSON.parse(m.data);
      if (f.t !== "encode.progress" || f.d.streamId !== state.streamId) return;
      show("enc", "enc-text", f.d.percent, f.d.status === "running" ? `${f.d.percent}%` : f.d.status);
      if (f.d.status === "done") {
        $("watch").href = `/watch.html?v=${encodeURIComponent(state.streamId)}`;
        $("done").hidden = false;
      }
      if (f.d.error) $("error").textContent = f.d.error;
    };
  });
}

$("login").onsubmit = async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const res = await fetch("/api/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: f.get("username"), password: f.get("password") }) });
  const body = await res.json();
  if (!res.ok) return ($("auth-error").textContent = body.error?.message ?? "login failed");
  state.token = body.accessToken;
  await listen();
  $("auth").hidden = true;
  $("studio").hidden = false;
};

$("form").onsubmit = (ev) => {
  ev.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  $("error").textContent = "";
  $("send").disabled = true;
  upload(file, $("title").value.trim() || file.name).catch((e) => {
    $("error").textContent = e.message;
    $("send").disabled = false;
  });
};
