/**
 * One client of the reconnect-storm bench (bench/storm.ts), on the light WebSocket client
 * (light-ws.ts) and msgpack frames, doing what the app does: connect with its token, join the
 * room (with the last seq it saw, after a loss), keep the seq current from the room's frames,
 * and wait as a refusal asks (an upgrade's 503/429 Retry-After, a join's `retryAfterMs`).
 */
import { Packr } from "msgpackr";
import { retryDelayMs } from "../protocol/errors.js";
import type { JoinAnswer } from "../protocol/rooms.js";
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
  d?: { code?: string; message?: string; data?: Record<string, unknown> } & Partial<JoinAnswer>;
}

export class StormClient {
  seq = 0;
  gateway = -1;
  /** When the last socket closed, was upgraded and was answered its join (Date.now()). */
  lostAt = 0;
  upgradedAt = 0;
  joinedAt = 0;
  #ws: LightWs | undefined;
  #answer: ((f: Frame) => void) | undefined;
  #n = 0;

  constructor(readonly token: string, readonly room: string, readonly localAddress: string | undefined, readonly onLost: (c: StormClient) => void, readonly onRefused: (why: string) => void = () => undefined) {}

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
        onMessage: (data) => this.#onData(data),
        onClose: () => {
          if (this.#ws !== ws) return;
          this.#ws = undefined;
          this.lostAt = Date.now();
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
    this.upgradedAt = Date.now();
    try {
      const r = await this.#join(ws, since);
      this.joinedAt = Date.now();
      return r;
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
      this.onRefused(`${why} (asked again on the same socket)`);
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

  /** A room frame's last seq is read in place (20,000 clients each hearing every chat and
   *  presence frame must not cost the bench's cores more than the platform's); anything else
   *  (answers, errors) is decoded. */
  #onData(data: Buffer): void {
    const t = data.indexOf(ROOM_FRAME);
    if (t === 1 || t === 3) {
      const at = data.lastIndexOf(SEQ_KEY);
      const seq = at < 0 ? undefined : readUint(data, at + SEQ_KEY.length);
      if (seq !== undefined && seq > this.seq) this.seq = seq;
      return;
    }
    const f = packr.unpack(data) as Frame;
    if (f.id !== undefined) this.#answer?.(f);
  }
}

/** `t: "room"` in msgpack, right after the frame's map header (fixmap or map16: the gateway
 *  writes `t` first), and the key "seq" (the bench's chat texts never contain it). */
const ROOM_FRAME = Buffer.from([0xa1, 0x74, 0xa4, 0x72, 0x6f, 0x6f, 0x6d]);
const SEQ_KEY = Buffer.from([0xa3, 0x73, 0x65, 0x71]);

/** A msgpack unsigned integer at `i` (fixint, uint8/16/32). */
function readUint(b: Buffer, i: number): number | undefined {
  const tag = b[i];
  if (tag === undefined) return undefined;
  if (tag < 0x80) return tag;
  if (tag === 0xcc && i + 1 < b.length) return b.readUInt8(i + 1);
  if (tag === 0xcd && i + 2 < b.length) return b.readUInt16BE(i + 1);
  if (tag === 0xce && i + 4 < b.length) return b.readUInt32BE(i + 1);
  return undefined;
}
