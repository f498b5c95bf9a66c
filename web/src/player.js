// The HLS player (hls.js), bundled by the gateway at /bundles/player.js.
//   const p = createPlayer(video, { src, token, onChange })
// Fast start (the lowest level first, then ABR climbs), a quality menu (p.levels, p.setLevel),
// AES-128 keys fetched with the viewer's token, and recovery from network and media errors.
import Hls from "hls.js";

export function createPlayer(video, { src, token, onChange = () => {}, maxBufferSec = 20 }) {
  if (!Hls.isSupported()) {
    // Safari/iOS play HLS natively; keys then need a signed URL instead of a header.
    video.src = src;
    return { hls: null, levels: [], setLevel() {}, destroy() { video.removeAttribute("src"); } };
  }
  let retries = 0;
  const hls = new Hls({
    startLevel: 0, // fast start: the smallest rendition first, ABR climbs from there
    capLevelToPlayerSize: false,
    maxBufferLength: maxBufferSec, // low-memory devices (TVs) and tests ask for less
    maxMaxBufferLength: Math.max(maxBufferSec, 30),
    xhrSetup(xhr, url) {
      const p = new URL(url, location.href).pathname;
      // Keys always need the token; a private stream's playlists and segments too (same origin only).
      const sameOrigin = new URL(url, location.href).origin === location.origin;
      const media = p.startsWith("/api/keys/") || p.startsWith("/api/livekeys/") || (sameOrigin && (p.startsWith("/vod/") || p.startsWith("/live/")));
      if (token && media) xhr.setRequestHeader("authorization", `Bearer ${token}`);
    },
  });
  const player = {
    hls,
    get levels() {
      return hls.levels.map((l, i) => ({ index: i, height: l.height, bitrate: l.bitrate }));
    },
    get level() {
      return hls.currentLevel;
    },
    get auto() {
      return hls.autoLevelEnabled;
    },
    /** -1 = automatic; otherwise a level index. */
    setLevel(i) {
      hls.currentLevel = i;
      onChange("level");
    },
    destroy() {
      hls.destroy();
    },
  };
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    onChange("levels");
    video.play().catch(() => {});
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, () => onChange("switched")); // a rendition change (telemetry counts it)
  hls.on(Hls.Events.FRAG_LOADED, () => (retries = 0));
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal) return;
    onChange(`error: ${data.type} ${data.details}`);
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR && retries < 8) {
      setTimeout(() => hls.startLoad(), 500 * 2 ** Math.min(retries++, 4));
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && retries++ < 3) {
      hls.recoverMediaError();
    } else {
      hls.destroy();
      onChange("failed");
    }
  });
  hls.loadSource(src);
  hls.attachMedia(video);
  return player;
}

/** Keyboard controls: space/k play-pause, arrows seek 5 s / volume, m mute, f fullscreen. */
export function keyboard(video, target = document) {
  target.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    const act = {
      " ": () => (video.paused ? video.play() : video.pause()),
      k: () => (video.paused ? video.play() : video.pause()),
      ArrowLeft: () => (video.currentTime = Math.max(0, video.currentTime - 5)),
      ArrowRight: () => (video.currentTime = Math.min(video.duration || Infinity, video.currentTime + 5)),
      ArrowUp: () => (video.volume = Math.min(1, video.volume + 0.1)),
      ArrowDown: () => (video.volume = Math.max(0, video.volume - 0.1)),
      m: () => (video.muted = !video.muted),
      f: () => (document.fullscreenElement ? document.exitFullscreen() : video.requestFullscreen?.()),
    }[e.key];
    if (!act) return;
    e.preventDefault();
    act();
  });
}
