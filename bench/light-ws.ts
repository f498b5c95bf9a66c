/**
 * A minimal WebSocket client for load generation (RFC 6455 over net.Socket): one handshake,
 * server frames parsed in place, client frames masked with a zero key (allowed by the RFC: the
 * mask is present, XOR by zero is free). Several times cheaper per message than the `ws`
 * client, so 5,000+ clients on the same 2 cores as the server measure the server more and the
 * clients less. Used for every server in the fan-out bench, baselines included.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";

const READ_BUFFER = Buffer.allocUnsafe(1 << 16);

export interface LightWsOptions {
  host: string;
  port: number;
  path: string;
  /** The source address to bind; none: the kernel picks address and port at connect (cheap:
   *  binding first makes every connect search the bound ports, slow with tens of thousands). */
  localAddress?: string | undefined;
  onMessage(data: Buffer, isBinary: boolean): void;
  /** The connection ended after the upgrade (the server closed it or went away). */
  onClose?(): void;
}

/** An upgrade the server answered with something else than 101: its status, and the wait it
 *  asked for (the body's `retryAfterMs`, else Retry-After in seconds), when it gave one. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number, readonly retryAfterMs: number | undefined, head: string) {
    super(`upgrade refused: ${head.split("\r\n")[0] ?? ""}`);
  }
}

export class LightWs {
  readonly #sock: net.Socket;
  readonly #opts: LightWsOptions;
  #buf: Buffer = Buffer.alloc(0);
  #open = false;
  #fragments: Buffer[] = [];
  #fragmentBinary = false;

  private constructor(sock: net.Socket, opts: LightWsOptions) {
    this.#sock = sock;
    this.#opts = opts;
  }

  static connect(opts: LightWsOptions): Promise<LightWs> {
    return new Promise((resolve, reject) => {
      // Reads land in one buffer shared by every socket of the process (no allocation and no
      // stream machinery per read): each read is parsed before the next, leftovers are copied.
      const box: { ws?: LightWs } = {};
      let ready = false;
      const onRead = (n: number): boolean => {
        const ws = box.ws;
        if (!ws) return true;
        try {
          if (ws.#onData(READ_BUFFER.subarray(0, n)) && !ready) {
            ready = true;
            resolve(ws);
          }
        } catch (err) {
          sock.destroy();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
        return true;
      };
      const sock = net.connect({ host: opts.host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}), noDelay: true, onread: { buffer: READ_BUFFER, callback: onRead } });
      box.ws = new LightWs(sock, opts);
      sock.once("connect", () => {
        const key = randomBytes(16).toString("base64");
        sock.write(`GET ${opts.path} HTTP/1.1\r\nHost: ${opts.host}:${opts.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      sock.once("error", reject);
      // Bounded: a server that accepts and never upgrades fails the connect, saying so.
      const timer = setTimeout(() => {
        if (!ready) sock.destroy(new Error(`WebSocket upgrade to ${opts.host}:${String(opts.port)} unanswered after 10 s`));
      }, 10_000);
      sock.once("close", () => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`connection to ${opts.host}:${String(opts.port)} closed before the upgrade`));
        else opts.onClose?.();
      });
    });
  }

  send(data: Buffer | string): void {
    const payload = typeof data === "string" ? Buffer.from(data) : data;
    const opcode = typeof data === "string" ? 1 : 2;
    const len = payload.length;
    const head = len < 126 ? Buffer.alloc(6) : len < 65536 ? Buffer.alloc(8) : Buffer.alloc(14);
    head[0] = 0x80 | opcode;
    if (len < 126) head[1] = 0x80 | len;
    else if (len < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    } else {
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(len), 2);
    }
    // the last 4 header bytes are the zero mask key
    this.#sock.write(Buffer.concat([head, payload]));
  }

  close(): void {
    this.#sock.destroy();
  }

  /** Returns true once the handshake completed (the first time). `chunk` is only valid during the call. */
  #onData(chunk: Buffer): boolean {
    const opened = this.#parse(chunk);
    if (this.#buf.length) this.#buf = Buffer.from(this.#buf); // keep what is left past this read
    return opened;
  }

  #parse(chunk: Buffer): boolean {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    if (!this.#open) {
      const end = this.#buf.indexOf("\r\n\r\n");
      if (end < 0) return false;
      const head = this.#buf.subarray(0, end).toString();
      if (!head.startsWith("HTTP/1.1 101")) throw refusal(head, this.#buf.subarray(end + 4).toString());
      this.#buf = this.#buf.subarray(end + 4);
      this.#open = true;
      // Frames that came with the handshake wait a turn: the caller must hold the socket first.
      setImmediate(() => this.#frames());
      return true;
    }
    this.#frames();
    return false;
  }

  #frames(): void {
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return;
      const fin = (b[0] ?? 0) & 0x80;
      const opcode = (b[0] ?? 0) & 0x0f;
      let len = (b[1] ?? 0) & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const payload = b.subarray(off, off + len);
      this.#buf = b.subarray(off + len);
      this.#frame(fin !== 0, opcode, payload);
    }
  }

  #frame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === 9) return this.#control(10, payload); // ping -> pong
    if (opcode === 8 || opcode === 10) return;
    if (opcode !== 0) this.#fragmentBinary = opcode === 2;
    if (!fin) {
      this.#fragments.push(Buffer.from(payload));
      return;
    }
    const data = this.#fragments.length ? Buffer.concat([...this.#fragments.splice(0), payload]) : payload;
    this.#opts.onMessage(data, this.#fragmentBinary);
  }

  #control(opcode: number, payload: Buffer): void {
    const head = Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]);
    this.#sock.write(Buffer.concat([head, payload]));
  }
}

function refusal(head: string, body: string): UpgradeRefused {
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
  const inBody = /"retryAfterMs":(\d+)/.exec(body)?.[1];
  const header = /\r\nretry-after: *(\d+)/i.exec(head)?.[1];
  return new UpgradeRefused(status, inBody ? Number(inBody) : header ? Number(header) * 1000 : undefined, head);
}
