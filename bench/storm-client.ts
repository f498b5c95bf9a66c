/**
 * One client of the reconnect-storm bench (bench/storm.ts), on the light WebSocket client
 * (light-ws.ts) and msgpack frames, doing what the app does: connect with its token, join the
 * room (with the last seq it saw, after a loss), keep the seq current from the room's frames,
 * and wait as a refusal asks (an upgrade's 503/429 Retry-After, a join's `retryAfterMs`).
 */
import { Packr } from "msgpackr";
import { retryDelayMs } from "../protocol/errors.js";
import type { JoinAnswer, RoomItem } from "../protocol/rooms.js";
import { LightWs, UpgradeRefused } from "./light-ws.js";

const packr = new Packr({ useRecords: false });
const JOIN_TIMEOUT_MS = 30_000;

/** A join refused (or an upgrade), with the wait the server asked for (0: none named). */
export class Refused extends Error {
  constructor(readonly why: string, readonly waitMs: number) {
    super(why);
  }
}

/** How a rejoin went: resumed (the events after `since`, none missing), or reset by the room. */
export type Rejoin = "resumed" | "reset" | "gap" | "fresh";

interface Frame {
  t: string;
  id?: string;
  d?: { room?: string; items?: RoomItem[]; code?: string; message?: string; data?: Record<string, unknown> } & Partial<JoinAnswer>;
}

export class StormClient {
  seq = 0;
  gateway = -1;
  #ws: LightWs | undefined;
  #answer: ((f: Frame) => void) | undefined;
  #n = 0;

  constructor(readonly token: string, readonly room: string, readonly localAddress: string, readonly onLost: (c: StormClient) => void) {}

  get open(): boolean {
    return this.#ws !== undefined;
  }

  /** Connects to the gateway at `url` (index `gateway`) and joins; throws Refused when asked to wait. */
  async enter(url: URL, gateway: number, since: number | undefined): Promise<Rejoin> {
    let ws: LightWs;
    try {
      ws = await LightWs.connect({
        host: url.hostname,
        port: Number(url.port),
        path: `/ws?token=${this.token}`,
        localAddress: this.localAddress,
        onMessage: (data) => this.#frame(packr.unpack(data) as Frame),
        onClose: () => {
          if (this.#ws !== ws) return;
          this.#ws = undefined;
          this.#answer?.({ t: "error", d: { code: "OFFLINE", message: "closed while joining" } });
          this.onLost(this);
        },
      });
    } catch (err) {
      if (err instanceof UpgradeRefused) throw new Refused(`upgrade ${String(err.status)}`, err.retryAfterMs ?? 0);
      throw new Refused(`connect: ${(err as Error).message.slice(0, 50)}`, 0);
    }
    this.#ws = ws;
    this.gateway = gateway;
    try {
      return await this.#join(ws, since);
    } catch (err) {
      this.#ws = undefined;
      ws.close();
      throw err;
    }
  }

  close(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    ws?.close();
  }

  /** Joins on an open socket; a join refused with a wait is asked again after it, on the same socket. */
  async #join(ws: LightWs, since: number | undefined): Promise<Rejoin> {
    for (;;) {
      const id = `j${String(this.#n++)}`;
      const f = await new Promise<Frame>((resolve) => {
        const timer = setTimeout(() => resolve({ t: "error", d: { code: "TIMEOUT", message: "join unanswered" } }), JOIN_TIMEOUT_MS);
        this.#answer = (frame) => {
          clearTimeout(timer);
          this.#answer = undefined;
          resolve(frame);
        };
        ws.send(packr.pack({ t: "room.join", id, d: since === undefined ? { room: this.room } : { room: this.room, since } }));
      });
      if (f.t === "ok" && f.d) return this.#joined(f.d as unknown as JoinAnswer, since);
      const why = `join ${String(f.d?.code)}: ${String(f.d?.message).replace(/\d+/g, "N").slice(0, 60)}`;
      const wait = retryDelayMs(f.d?.data, 0);
      if (f.d?.code === "OFFLINE" || f.d?.code === "TIMEOUT" || wait === 0) throw new Refused(why, wait);
      await new Promise((r) => setTimeout(r, wait));
      if (this.#ws !== ws) throw new Refused("closed while waiting to join again", 0);
    }
  }

  #joined(a: JoinAnswer, since: number | undefined): Rejoin {
    const first = a.events[0]?.seq;
    this.seq = Math.max(a.seq, since ?? 0);
    if (since === undefined) return "fresh";
    if (a.reset) return "reset";
    return first === undefined ? (a.seq === since ? "resumed" : "gap") : first === since + 1 ? "resumed" : "gap";
  }

  #frame(f: Frame): void {
    if (f.id !== undefined) return this.#answer?.(f);
    if (f.t !== "room" || !f.d?.items) return;
    for (const it of f.d.items) if ("seq" in it && it.seq > this.seq) this.seq = it.seq;
  }
}
