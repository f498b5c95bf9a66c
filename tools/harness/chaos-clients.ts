/**
 * Clients that behave as our real clients do when a node dies, for the chaos suite:
 *   - Chatter: a room member on one gateway's WebSocket; when the socket drops it reconnects to
 *     the next gateway, rejoins with its last seq, and re-sends an unanswered message with the
 *     same `cid` until it is answered (so nothing is stored twice).
 *   - Http: JSON requests that retry network errors, 502/503/504, UNAVAILABLE and TIMEOUT up to
 *     `attempts` times on the next gateway, and count what needed retries and what failed anyway.
 *   - EventSender: analytics event batches over HTTP, re-sent with `retry: true` after an
 *     unknown outcome, so every event is stored once.
 */
import { WsClient, type Frame } from "./ws-client.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RETRYABLE = new Set(["UNAVAILABLE", "TIMEOUT", "RATE_LIMITED"]);

type Item = { kind: string; seq: number; cid?: string; text?: string };
const chatsIn = (frames: Frame[]): Item[] =>
  frames.filter((f) => f.t === "room").flatMap((f) => (f.d as { items: Item[] }).items).filter((i) => i.kind === "chat");

export class Chatter {
  readonly acked = new Map<string, number>();
  /** When each acknowledgement arrived (ms since the epoch), in order: availability figures. */
  readonly ackedAt: number[] = [];
  /** Messages answered with a non-retryable error (must stay empty). */
  readonly refused: string[] = [];
  readonly seen = new Set<number>();
  reconnects = 0;
  readonly reconnectMs: number[] = [];
  firstSeq = 0;
  #c: WsClient | undefined;
  #gw = 0;
  #frames = 0;
  #next = 0;
  readonly #gateways: () => string[];
  readonly #token: string;
  readonly #room: string;
  readonly #id: string;

  constructor(gateways: () => string[], token: string, room: string, id: string, startAt = 0) {
    this.#gateways = gateways;
    this.#token = token;
    this.#room = room;
    this.#id = id;
    this.#gw = startAt;
  }

  get maxSeen(): number {
    return Math.max(this.firstSeq, ...this.seen);
  }

  async join(): Promise<void> {
    const t0 = Date.now();
    for (let attempt = 0; ; attempt++) {
      const urls = this.#gateways();
      const url = urls[this.#gw % urls.length] ?? "";
      try {
        const c = await WsClient.connect(url, { token: this.#token });
        const since = this.#c === undefined ? undefined : this.maxSeen;
        const r = await c.request("room.join", since === undefined ? { room: this.#room } : { room: this.#room, since }, 5000);
        if (r.t !== "ok") throw new Error(JSON.stringify(r.d));
        const d = r.d as { seq: number; events: Item[] };
        if (this.#c === undefined) this.firstSeq = d.seq;
        else {
          this.reconnects++;
          this.reconnectMs.push(Date.now() - t0);
        }
        for (const e of d.events) if (e.kind === "chat" && e.seq > this.firstSeq) this.seen.add(e.seq);
        this.#c = c;
        this.#frames = 0;
        return;
      } catch (err) {
        this.#gw++;
        if (attempt > 200) throw new Error(`${this.#id}: cannot rejoin: ${String(err)}`, { cause: err });
        await sleep(100);
      }
    }
  }

  /** Live chat frames into `seen`. */
  #collect(): void {
    const c = this.#c;
    if (!c) return;
    const fresh = c.frames.slice(this.#frames);
    this.#frames = c.frames.length;
    for (const e of chatsIn(fresh)) if (e.seq > this.firstSeq) this.seen.add(e.seq);
  }

  /** Sends one message and does not give up: reconnects and re-sends with the same cid. */
  async say(text: string): Promise<number> {
    const cid = `${this.#id}-${this.#next++}`;
    for (let attempt = 0; attempt < 500; attempt++) {
      this.#collect();
      const c = this.#c;
      if (!c || c.closeCode !== undefined || c.ws.readyState !== c.ws.OPEN) {
        await this.join();
        continue;
      }
      let r: Frame;
      try {
        r = await c.request("room.chat", { room: this.#room, text, cid }, 4000);
      } catch {
        continue; // no answer (socket gone or owner moving): same cid again
      }
      if (r.t === "ok") {
        const seq = (r.d as { seq: number }).seq;
        this.acked.set(cid, seq);
        this.ackedAt.push(Date.now());
        return seq;
      }
      const code = (r.d as { code: string }).code;
      if (!RETRYABLE.has(code)) {
        this.refused.push(`${cid}: ${JSON.stringify(r.d)}`);
        return -1;
      }
      await sleep(150);
    }
    throw new Error(`${this.#id}: ${cid} never acknowledged`);
  }

  /** Keeps saying something every `everyMs` until `stop()` is true. */
  async talk(everyMs: number, stop: () => boolean): Promise<void> {
    for (let i = 0; !stop(); i++) {
      await this.say(`${this.#id} says ${i}`);
      await sleep(everyMs);
    }
  }

  /** Waits until this member has received every seq up to `upTo` (live or by catch-up). */
  async caughtUp(upTo: number, timeoutMs = 20_000): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.#collect();
      const missing: number[] = [];
      for (let s = this.firstSeq + 1; s <= upTo; s++) if (!this.seen.has(s)) missing.push(s);
      if (missing.length === 0 || Date.now() > deadline) return missing;
      if (this.#c?.closeCode !== undefined) await this.join();
      await sleep(100);
    }
  }

  close(): void {
    this.#c?.close();
  }
}

export interface HttpStats {
  requests: number;
  retried: number;
  attempts: number;
  failed: number;
  failures: string[];
}

export class Http {
  readonly stats: HttpStats = { requests: 0, retried: 0, attempts: 0, failed: 0, failures: [] };
  readonly #gateways: () => string[];
  readonly #attempts: number;
  #rr = 0;

  constructor(gateways: () => string[], attempts = 6) {
    this.#gateways = gateways;
    this.#attempts = attempts;
  }

  /** One logical request; `retryBody` is what to send instead on a retry (events: retry: true). */
  async call(method: string, path: string, body?: unknown, token?: string, retryBody?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    this.stats.requests++;
    let last = "";
    for (let a = 0; a < this.#attempts; a++) {
      const urls = this.#gateways();
      const base = urls[this.#rr++ % urls.length] ?? "";
      this.stats.attempts++;
      if (a === 1) this.stats.retried++;
      try {
        const b = a > 0 && retryBody !== undefined ? retryBody : body;
        const res = await fetch(base + path, {
          method,
          headers: { ...(b !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
          ...(b !== undefined ? { body: JSON.stringify(b) } : {}),
          signal: AbortSignal.timeout(8000),
        });
        const text = await res.text();
        const parsed = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        const code = (parsed.error as { code?: string } | undefined)?.code ?? "";
        if (res.status < 500 && !RETRYABLE.has(code)) return { status: res.status, body: parsed };
        last = `${res.status} ${code}`;
      } catch (err) {
        last = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      await new Promise((r) => setTimeout(r, 150 * (a + 1)));
    }
    this.stats.failed++;
    if (this.stats.failures.length < 10) this.stats.failures.push(`${method} ${path}: ${last}`);
    return { status: 0, body: { error: { code: "CLIENT_GAVE_UP", message: last } } };
  }
}

/**
 * Event batches with unique ids, sent as the browser SDK sends them: a batch nobody accepted
 * yet is kept and re-sent (with `retry: true`) until it is, for up to `keepMs`; only then is it
 * given up (`refused`). `accepted` counts events whose batch was answered 200.
 */
export class EventSender {
  accepted = 0;
  refused = 0;
  /** Batches that needed more than one round of the client's retries (a NATS failover, say). */
  resent = 0;
  keepMs = 60_000;
  #batch = 0;
  readonly #http: Http;
  readonly #token: string;
  /** Also the events' stream id: the store is counted by it. */
  readonly streamId: string;

  constructor(http: Http, token: string, streamId: string) {
    this.#http = http;
    this.#token = token;
    this.streamId = streamId;
  }

  async send(n = 50): Promise<void> {
    const b = this.#batch++;
    const now = Date.now();
    const events = Array.from({ length: n }, (_, i) => ({ id: `${this.streamId}-${b}-${i}`, type: "heartbeat", ts: now, stream: this.streamId, view: `${this.streamId}-v${b % 7}`, watched: 10_000, bitrate: 1500, rendition: "720p", protocol: "hls" }));
    const deadline = Date.now() + this.keepMs;
    let r = await this.#http.call("POST", "/api/events", { events }, this.#token, { events, retry: true });
    while (r.status !== 200 && r.status < 400 && Date.now() < deadline) {
      this.resent++;
      await sleep(500);
      r = await this.#http.call("POST", "/api/events", { events, retry: true }, this.#token);
    }
    if (r.status === 200) this.accepted += n;
    else this.refused += n;
  }

  async stream(everyMs: number, stop: () => boolean): Promise<void> {
    while (!stop()) {
      await this.send();
      await sleep(everyMs);
    }
  }
}
