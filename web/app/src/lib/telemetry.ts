/**
 * Telemetry SDK (docs/events.md):
 *   const t = new Telemetry({ send: (events, retry) => promise, beacon: () => ({ url, token }) })
 *   t.track("chat", { stream })               any event type of docs/events.md
 *   const view = t.watch(video, { stream, protocol, bitrate: () => kbps })   one playback view
 *   view.quality("480p", 1200); view.error("NETWORK", true)
 * Events are batched (every 2 s or 100 events) and sent with `send` (the app's WebSocket, or
 * POST /api/events). A batch whose answer is lost is kept and sent again marked `retry`, so the
 * server stores it once. On page exit what is left goes by navigator.sendBeacon.
 */
import { uid } from "./uid";

const FLUSH_MS = 2000;
const MAX_BATCH = 100;
const MAX_QUEUE = 5000; // a long outage drops the oldest events, never the page's memory
const HEARTBEAT_MS = 10_000;

export type TrackedEvent = { id: string; type: string; ts: number } & Record<string, unknown>;

export interface TelemetryOptions {
  send: (events: TrackedEvent[], retry: boolean) => Promise<unknown>;
  beacon: () => { url: string; token: string | undefined };
  device?: string;
  /** The page's last events (e.g. "exit"), tracked before the beacon. */
  onExit?: () => void;
}

export interface ViewOptions {
  stream: string;
  protocol: string;
  bitrate?: () => number;
  rendition?: () => string;
}


export class Telemetry {
  readonly #o: TelemetryOptions;
  #queue: TrackedEvent[] = [];
  /** The batch in flight, or the one whose answer was lost. */
  #unacked: TrackedEvent[] | null = null;
  #sending = false;
  readonly views = new Set<View>();

  constructor(o: TelemetryOptions) {
    this.#o = o;
    setInterval(() => void this.flush(), FLUSH_MS);
    addEventListener("pagehide", () => this.exit());
    addEventListener("visibilitychange", () => document.visibilityState === "hidden" && void this.flush());
  }

  track(type: string, fields: Record<string, unknown> = {}): void {
    this.#queue.push({ id: uid(), type, ts: Date.now(), ...fields });
    if (this.#queue.length > MAX_QUEUE) this.#queue.splice(0, this.#queue.length - MAX_QUEUE);
    if (this.#queue.length >= MAX_BATCH) void this.flush();
  }

  async flush(): Promise<void> {
    if (this.#sending) return;
    const retry = this.#unacked !== null;
    const batch = this.#unacked ?? this.#queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.#unacked = batch;
    this.#sending = true;
    try {
      await this.#o.send(batch, retry);
      this.#unacked = null;
    } catch {
      // kept in #unacked: sent again, marked retry, on the next flush
    } finally {
      this.#sending = false;
    }
    if (this.#unacked === null && this.#queue.length >= MAX_BATCH) void this.flush();
  }

  /** Page exit: end the views, then hand everything left to sendBeacon. */
  exit(): void {
    this.#o.onExit?.();
    for (const v of this.views) v.end();
    const { url, token } = this.#o.beacon();
    const post = (events: TrackedEvent[], retry: boolean) => events.length > 0 && navigator.sendBeacon(url, new Blob([JSON.stringify({ token, events, retry, device: this.#o.device })], { type: "application/json" }));
    if (this.#unacked) post(this.#unacked, true);
    for (let i = 0; i < this.#queue.length; i += MAX_BATCH) post(this.#queue.slice(i, i + MAX_BATCH), false);
    this.#unacked = null;
    this.#queue = [];
  }

  /** One playback view of `video` (Mux's "view"): startup, stalls, heartbeats, the end. */
  watch(video: HTMLVideoElement, opts: ViewOptions): View {
    const view = new View(this, video, opts);
    this.views.add(view);
    return view;
  }
}

export class View {
  readonly #t: Telemetry;
  readonly #video: HTMLVideoElement;
  readonly #stream: string;
  readonly #protocol: string;
  readonly #bitrate: () => number;
  readonly #rendition: () => string;
  readonly #id = uid();
  readonly #startedAt = performance.now();
  #started = false;
  #ended = false;
  #stallAt = 0;
  /** ms of playing or stalling (not paused) since the last heartbeat. */
  #watchedSince = 0;
  #activeAt: number | null = null;
  readonly #listeners: Record<string, () => void>;
  readonly #beat: ReturnType<typeof setInterval>;

  constructor(t: Telemetry, video: HTMLVideoElement, o: ViewOptions) {
    this.#t = t;
    this.#video = video;
    this.#stream = o.stream;
    this.#protocol = o.protocol;
    this.#bitrate = o.bitrate ?? (() => 0);
    this.#rendition = o.rendition ?? (() => "");
    this.#emit("view.start");
    const position = () => Math.round(video.currentTime * 1000);
    this.#listeners = {
      playing: () => this.#onPlaying(),
      waiting: () => this.#onWaiting(),
      pause: () => (this.#pauseClock(), this.#started && this.#emit("pause", { position: position() })),
      play: () => this.#started && this.#emit("play"),
      seeking: () => this.#started && this.#emit("seek", { position: position() }),
      error: () => this.error(`MEDIA_ERR_${String(video.error?.code ?? 0)}`, true),
    };
    for (const [e, f] of Object.entries(this.#listeners)) video.addEventListener(e, f);
    this.#beat = setInterval(() => this.#heartbeat(), HEARTBEAT_MS);
  }

  #emit(type: string, fields: Record<string, unknown> = {}): void {
    this.#t.track(type, { view: this.#id, stream: this.#stream, protocol: this.#protocol, ...fields });
  }

  #onPlaying(): void {
    this.#runClock();
    if (!this.#started) {
      this.#started = true;
      this.#emit("startup", { duration: Math.round(performance.now() - this.#startedAt), rendition: this.#rendition(), bitrate: this.#bitrate() });
    } else if (this.#stallAt) {
      this.#emit("buffer.end", { duration: Math.round(performance.now() - this.#stallAt) });
    }
    this.#stallAt = 0;
  }

  #onWaiting(): void {
    if (!this.#started || this.#stallAt || this.#video.seeking) return;
    this.#stallAt = performance.now();
    this.#emit("buffer.start");
  }

  #runClock(): void {
    this.#activeAt ??= performance.now();
  }

  #pauseClock(): void {
    if (this.#activeAt === null) return;
    this.#watchedSince += performance.now() - this.#activeAt;
    this.#activeAt = null;
  }

  /** Watched ms since the last heartbeat (playing or stalled, not paused). */
  #takeWatched(): number {
    const running = this.#activeAt !== null;
    this.#pauseClock();
    const w = Math.round(this.#watchedSince);
    this.#watchedSince = 0;
    if (running) this.#runClock();
    return w;
  }

  /** Playhead and, for videos, their length (ms): completion for the recommenders. */
  #playhead(): { position: number; duration?: number } {
    const d = this.#video.duration;
    return { position: Math.round((this.#video.currentTime || 0) * 1000), ...(Number.isFinite(d) && d > 0 ? { duration: Math.round(d * 1000) } : {}) };
  }

  #heartbeat(): void {
    this.#emit("heartbeat", { watched: this.#takeWatched(), bitrate: this.#bitrate(), rendition: this.#rendition(), ...this.#playhead() });
  }

  quality(rendition: string, bitrateKbps: number): void {
    if (this.#started) this.#emit("quality", { rendition, bitrate: Math.round(bitrateKbps) });
  }

  error(code: string, fatal: boolean): void {
    this.#emit("error", { code: code.slice(0, 64).replace(/[^\w .:/+()-]/g, "_"), fatal });
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#beat);
    for (const [e, f] of Object.entries(this.#listeners)) this.#video.removeEventListener(e, f);
    if (this.#stallAt) this.#emit("buffer.end", { duration: Math.round(performance.now() - this.#stallAt) });
    this.#emit("view.end", { watched: this.#takeWatched(), bitrate: this.#bitrate(), started: this.#started, ...this.#playhead() });
    this.#t.views.delete(this);
  }
}
