// Telemetry SDK (docs/events.md), bundled at /bundles/telemetry.js.
//   const t = new Telemetry({ send: (events, retry) => promise, beacon: () => ({ url, token }) })
//   t.track("chat", { stream })               any event type of docs/events.md
//   const view = t.watch(video, { stream, protocol, bitrate: () => kbps })   one playback view
//   view.quality("480p", 1200); view.error("NETWORK", true)
// Events are batched (every 2 s or 100 events) and sent with `send` (the page's WebSocket, or
// POST /api/events). A batch whose answer is lost is kept and sent again marked `retry`, so
// the server stores it once. On page exit what is left goes by navigator.sendBeacon.
const FLUSH_MS = 2000;
const MAX_BATCH = 100;
const MAX_QUEUE = 5000; // a long outage drops the oldest events, never the page's memory
const HEARTBEAT_MS = 10_000;

const uid = () => crypto.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;

export class Telemetry {
  constructor({ send, beacon, device, onExit = () => {} }) {
    this.sendFn = send;
    this.onExit = onExit; // last events of the page (e.g. "exit"), tracked before the beacon
    this.beaconFn = beacon;
    this.device = device;
    this.queue = [];
    this.unacked = null; // the batch in flight, or the one whose answer was lost
    this.views = new Set();
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    addEventListener("pagehide", () => this.exit());
    addEventListener("visibilitychange", () => document.visibilityState === "hidden" && this.flush());
  }

  track(type, fields = {}) {
    this.queue.push({ id: uid(), type, ts: Date.now(), ...fields });
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
    if (this.queue.length >= MAX_BATCH) this.flush();
  }

  async flush() {
    if (this.sending) return;
    const retry = this.unacked !== null;
    const batch = this.unacked ?? this.queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.unacked = batch;
    this.sending = true;
    try {
      await this.sendFn(batch, retry);
      this.unacked = null;
    } catch {
      // kept in this.unacked: sent again, marked retry, on the next flush
    } finally {
      this.sending = false;
    }
    if (this.unacked === null && this.queue.length >= MAX_BATCH) this.flush();
  }

  /** Page exit: end the views, then hand everything left to sendBeacon. */
  exit() {
    this.onExit();
    for (const v of this.views) v.end();
    const { url, token } = this.beaconFn();
    const post = (events, retry) => events.length && navigator.sendBeacon(url, new Blob([JSON.stringify({ token, events, retry, device: this.device })], { type: "application/json" }));
    if (this.unacked) post(this.unacked, true);
    for (let i = 0; i < this.queue.length; i += MAX_BATCH) post(this.queue.slice(i, i + MAX_BATCH), false);
    this.unacked = null;
    this.queue = [];
  }

  /** One playback view of `video` (Mux's "view"): startup, stalls, heartbeats, the end. */
  watch(video, { stream, protocol, bitrate = () => 0, rendition = () => "" }) {
    const view = new View(this, video, { stream, protocol, bitrate, rendition });
    this.views.add(view);
    return view;
  }
}

class View {
  constructor(t, video, opts) {
    this.t = t;
    this.video = video;
    this.opts = opts;
    this.id = uid();
    this.startedAt = performance.now();
    this.started = false;
    this.ended = false;
    this.stallAt = 0;
    this.lastBeat = performance.now();
    this.watchedSince = 0; // ms of playing or stalling (not paused) since the last heartbeat
    this.activeAt = null;
    this.emit("view.start");
    this.listeners = {
      playing: () => this.onPlaying(),
      waiting: () => this.onWaiting(),
      pause: () => (this.pauseClock(), this.started && this.emit("pause", { position: Math.round(video.currentTime * 1000) })),
      play: () => this.started && this.emit("play"),
      seeking: () => this.started && this.emit("seek", { position: Math.round(video.currentTime * 1000) }),
      error: () => this.error(`MEDIA_ERR_${video.error?.code ?? 0}`, true),
    };
    for (const [e, f] of Object.entries(this.listeners)) video.addEventListener(e, f);
    this.beat = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
  }

  emit(type, fields = {}) {
    this.t.track(type, { view: this.id, stream: this.opts.stream, protocol: this.opts.protocol, ...fields });
  }

  onPlaying() {
    this.runClock();
    if (!this.started) {
      this.started = true;
      this.emit("startup", { duration: Math.round(performance.now() - this.startedAt), rendition: this.opts.rendition(), bitrate: this.opts.bitrate() });
    } else if (this.stallAt) {
      this.emit("buffer.end", { duration: Math.round(performance.now() - this.stallAt) });
    }
    this.stallAt = 0;
  }

  onWaiting() {
    if (!this.started || this.stallAt || this.video.seeking) return;
    this.stallAt = performance.now();
    this.emit("buffer.start");
  }

  runClock() {
    this.activeAt ??= performance.now();
  }

  pauseClock() {
    if (this.activeAt === null) return;
    this.watchedSince += performance.now() - this.activeAt;
    this.activeAt = null;
  }

  /** Watched ms since the last heartbeat (playing or stalled, not paused). */
  takeWatched() {
    const running = this.activeAt !== null;
    this.pauseClock();
    const w = Math.round(this.watchedSince);
    this.watchedSince = 0;
    if (running) this.runClock();
    return w;
  }

  /** Playhead and, for videos, their length (ms): completion for the recommenders. */
  playhead() {
    const d = this.video.duration;
    return { position: Math.round((this.video.currentTime || 0) * 1000), ...(Number.isFinite(d) && d > 0 ? { duration: Math.round(d * 1000) } : {}) };
  }

  heartbeat() {
    this.emit("heartbeat", { watched: this.takeWatched(), bitrate: this.opts.bitrate(), rendition: this.opts.rendition(), ...this.playhead() });
  }

  quality(rendition, bitrateKbps) {
    if (this.started) this.emit("quality", { rendition, bitrate: Math.round(bitrateKbps) });
  }

  error(code, fatal) {
    this.emit("error", { code: String(code).slice(0, 64).replace(/[^\w .:/+()-]/g, "_"), fatal: Boolean(fatal) });
  }

  end() {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.beat);
    for (const [e, f] of Object.entries(this.listeners)) this.video.removeEventListener(e, f);
    if (this.stallAt) this.emit("buffer.end", { duration: Math.round(performance.now() - this.stallAt) });
    this.emit("view.end", { watched: this.takeWatched(), bitrate: this.opts.bitrate(), started: this.started, ...this.playhead() });
    this.t.views.delete(this);
  }
}
