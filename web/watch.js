// The watch page: a VOD asset over encrypted HLS (hls.js: fast start, ABR, quality menu,
// error recovery, keyboard). Live streams go to the room page (WebRTC, sub-second, with chat).
// Anyone may watch public assets: a guest token is fetched if the visitor has none.
import { createPlayer, keyboard } from "/bundles/player.js";
import { Telemetry } from "/bundles/telemetry.js";
import { token } from "/guest-token.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const id = params.get("v");
const maxBufferSec = Number(params.get("buffer")) || 20; // ?buffer=<seconds> ahead

function renderLevels(player) {
  $("quality").replaceChildren(new Option("auto", "-1"), ...player.levels.map((l) => new Option(`${l.height}p`, String(l.index))));
  $("quality").value = player.auto ? "-1" : String(player.level);
}

async function start() {
  if (!id) return ($("error").textContent = "No video chosen (?v=<id>)");
  const stream = await (await fetch(`/api/streams/${encodeURIComponent(id)}`)).json();
  if (stream.error) return ($("error").textContent = stream.error.message);
  $("title").textContent = stream.title;
  // Live: WebRTC (sub-second, with chat) in the room page by default; HLS (a few seconds behind,
  // cacheable, for very large audiences) here with ?mode=hls.
  const live = stream.kind === "live";
  if (live) Object.assign($("live-link"), { hidden: false, href: `/room.html?room=${encodeURIComponent(id)}` });
  if (live && (params.get("mode") !== "hls" || stream.status !== "live")) return ($("state").textContent = stream.status);
  if (!live && stream.status !== "ready") return ($("state").textContent = `${stream.status}…`);
  const video = $("video");
  if (!live) video.poster = `/vod/${id}/poster.jpg`;
  // Live HLS starts a few seconds after the broadcaster: wait for its first playlist.
  for (let i = 0; live && i < 60; i++) {
    if ((await fetch(`/live/${encodeURIComponent(id)}/master.m3u8`, { method: "HEAD" })).ok) break;
    $("state").textContent = "starting…";
    await new Promise((r) => setTimeout(r, 1000));
  }
  const tok = await token();
  const telemetry = new Telemetry({
    send: async (events, retry) => {
      const res = await fetch("/api/events", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${tok}` }, body: JSON.stringify({ events, retry }), keepalive: true });
      if (!res.ok) throw new Error(`events: ${res.status}`);
    },
    beacon: () => ({ url: "/api/events", token: tok }),
  });
  window.telemetry = telemetry; // for tests and the console
  const current = () => player?.levels[player.hls?.currentLevel ?? -1];
  const view = telemetry.watch($("video"), {
    stream: id,
    protocol: live ? "hls-live" : "hls",
    bitrate: () => Math.round((current()?.bitrate ?? 0) / 1000),
    rendition: () => (current() ? `${current().height}p` : ""),
  });
  performance.mark("play-requested"); // startup time = this -> the first frame (bench/hls.ts reads it)
  video.requestVideoFrameCallback?.(() => performance.mark("first-frame"));
  let player;
  player = createPlayer(video, {
    src: live ? `/live/${id}/master.m3u8` : `/vod/${id}/master.m3u8`,
    token: tok,
    maxBufferSec,
    onChange: (what) => {
      if (what === "levels") renderLevels(player);
      if (what === "switched" && current()) view.quality(`${current().height}p`, current().bitrate / 1000);
      if (what.startsWith("error")) view.error(what.slice(7), false);
      if (what === "failed") view.error("HLS_FAILED", true);
      if (what.startsWith("error") || what === "failed") $("error").textContent = what;
      const l = player.levels[player.hls?.currentLevel ?? -1];
      $("level").textContent = l ? `${l.height}p · ${Math.round(l.bitrate / 1000)} kbit/s${player.auto ? " (auto)" : ""}` : "";
    },
  });
  window.player = player; // for tests and the console
  $("quality").onchange = (e) => player.setLevel(Number(e.target.value));
  keyboard(video);
  video.onplaying = () => ($("state").textContent = "playing");
  video.onwaiting = () => ($("state").textContent = "buffering");
}

start().catch((e) => ($("error").textContent = e.message));
