/** A test WebSocket client speaking the protocol (msgpack by default, JSON on request). */
import { Packr } from "msgpackr";
import WebSocket from "ws";

const packr = new Packr({ useRecords: false });

export interface Frame {
  t: string;
  id?: string | number;
  d?: unknown;
}

export class WsClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  #waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void }[] = [];
  #nextId = 1;
  readonly #json: boolean;

  private constructor(ws: WebSocket, json: boolean) {
    this.ws = ws;
    this.#json = json;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const f = (isBinary ? packr.unpack(data) : JSON.parse(data.toString())) as Frame;
      this.frames.push(f);
      this.#waiters = this.#waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
    });
    ws.on("close", (code) => {
      this.closeCode = code;
      // What was awaited will not come on this socket: say so now, as the app's socket does (a
      // client reconnects at once instead of waiting out its timeout).
      const waiting = this.#waiters;
      this.#waiters = [];
      for (const w of waiting) w.reject(new Error(`socket closed (${String(code)}) before the frame came`));
    });
  }

  static connect(url: string, opts: { token?: string; header?: boolean; json?: boolean } = {}): Promise<WsClient> {
    const q = new URLSearchParams();
    if (opts.token && !opts.header) q.set("token", opts.token);
    if (opts.json) q.set("format", "json");
    const ws = new WebSocket(`${url}?${q.toString()}`, opts.header && opts.token ? { headers: { authorization: `Bearer ${opts.token}` } } : {});
    const client = new WsClient(ws, opts.json === true);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => reject(Object.assign(new Error(`upgrade refused ${res.statusCode}: ${body}`), { status: res.statusCode, body, headers: res.headers })));
      });
      ws.once("error", reject);
    });
  }

  sendRaw(data: Buffer | string): void {
    this.ws.send(data);
  }

  send(t: string, d?: unknown): string {
    const id = `r${this.#nextId++}`;
    const f = { t, id, d };
    this.ws.send(this.#json ? JSON.stringify(f) : packr.pack(f));
    return id;
  }

  /** Sends a request and waits for its ok/error answer. */
  async request(t: string, d?: unknown, timeoutMs = 15_000): Promise<Frame> { // generous: CI boxes are 2 busy cores
    const id = this.send(t, d);
    return this.next((f) => f.id === id, timeoutMs);
  }

  next(pred: (f: Frame) => boolean, timeoutMs = 15_000): Promise<Frame> {
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    if (this.closeCode !== undefined) return Promise.reject(new Error(`socket closed (${String(this.closeCode)})`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`)), timeoutMs);
      this.#waiters.push({ pred, resolve: (f) => (clearTimeout(timer), resolve(f)), reject: (e) => (clearTimeout(timer), reject(e)) });
    });
  }

  closed(timeoutMs = 10_000): Promise<number> {
    if (this.closeCode !== undefined) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("socket did not close")), timeoutMs);
      this.ws.once("close", (code) => (clearTimeout(timer), resolve(code)));
    });
  }

  close(): void {
    this.ws.close();
  }
}
