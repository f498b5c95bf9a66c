/**
 * The HLS player (hls.js): `createPlayer(video, { src, token, onChange })`.
 * Fast start (the lowest level first, then ABR climbs), a quality menu (levels, setLevel),
 * AES-128 keys fetched with the viewer's token, and recovery from network and media errors.
 */
// The light build: AES-128 keys, ABR and error recovery are in it; subtitles and alternate audio
// are not (captions are the video element's own <track>s: HlsPlayer.tsx), EME and CMCD neither.
import Hls from "hls.js/light";

export interface Level {
  index: number;
  height: number;
  bitrate: number;
}

export interface Player {
  readonly levels: Level[];
  /** The level playing now (-1 before the first). */
  readonly level: number;
  /** The level being loaded (ABR's choice), -1 before the first. */
  readonly loadLevel: number;
  readonly auto: boolean;
  /** -1 = automatic; otherwise a level index. */
  setLevel(i: number): void;
  destroy(): void;
}

export interface PlayerOptions {
  src: string;
  token?: string;
  onChange?: (what: string) => void;
  /** Seconds buffered ahead (low-memory devices such as TVs, and tests, ask for less). */
  maxBufferSec?: number;
  /** Where to start, seconds (resume); the start otherwise. */
  startSec?: number;
}

/** Keys always need the token; a private stream's playlists and segments too (same origin only). */
function needsToken(url: string): boolean {
  const u = new URL(url, location.href);
  const p = u.pathname;
  return p.startsWith("/api/keys/") || p.startsWith("/api/livekeys/") || (u.origin === location.origin && (p.startsWith("/vod/") || p.startsWith("/live/")));
}

function nativePlayer(video: HTMLVideoElement, src: string, startSec: number | undefined): Player {
  // Safari/iOS play HLS natively; keys then need a signed URL instead of a header.
  video.src = src;
  if (startSec) video.addEventListener("loadedmetadata", () => (video.currentTime = startSec), { once: true });
  return { levels: [], level: -1, loadLevel: -1, auto: true, setLevel: () => undefined, destroy: () => video.removeAttribute("src") };
}

export function createPlayer(video: HTMLVideoElement, { src, token, onChange = () => undefined, maxBufferSec = 20, startSec }: PlayerOptions): Player {
  if (!Hls.isSupported()) return nativePlayer(video, src, startSec);
  let retries = 0;
  const hls = new Hls({
    ...(startSec ? { startPosition: startSec } : {}),
    startLevel: 0, // fast start: the smallest rendition first, ABR climbs from there
    capLevelToPlayerSize: false,
    maxBufferLength: maxBufferSec,
    maxMaxBufferLength: Math.max(maxBufferSec, 30),
    xhrSetup(xhr, url) {
      if (token && needsToken(url)) xhr.setRequestHeader("authorization", `Bearer ${token}`);
    },
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    onChange("levels");
    video.play().catch(() => undefined);
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
  return {
    get levels() {
      return hls.levels.map((l, i) => ({ index: i, height: l.height, bitrate: l.bitrate }));
    },
    get level() {
      return hls.currentLevel;
    },
    get loadLevel() {
      return hls.loadLevel;
    },
    get auto() {
      return hls.autoLevelEnabled;
    },
    setLevel(i) {
      hls.currentLevel = i;
      onChange("level");
    },
    destroy() {
      hls.destroy();
    },
  };
}

/** Keyboard controls: space/k play-pause, arrows seek 5 s / volume, m mute, f fullscreen. */
export function keyboard(video: HTMLVideoElement, target: EventTarget = document): void {
  const toggle = () => (video.paused ? void video.play() : video.pause());
  const actions: Record<string, () => void> = {
    " ": toggle,
    k: toggle,
    ArrowLeft: () => (video.currentTime = Math.max(0, video.currentTime - 5)),
    ArrowRight: () => (video.currentTime = Math.min(video.duration || Infinity, video.currentTime + 5)),
    ArrowUp: () => (video.volume = Math.min(1, video.volume + 0.1)),
    ArrowDown: () => (video.volume = Math.max(0, video.volume - 0.1)),
    m: () => (video.muted = !video.muted),
    // iOS Safari has no requestFullscreen on a video element.
    f: () => void (document.fullscreenElement ? document.exitFullscreen() : "requestFullscreen" in video ? video.requestFullscreen() : undefined),
  };
  target.addEventListener("keydown", (ev) => {
    const e = ev as KeyboardEvent;
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    const act = actions[e.key];
    if (!act) return;
    e.preventDefault();
    act();
  });
}
