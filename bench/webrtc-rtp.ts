/**
 * Synthetic VP8 RTP for the forwarding bench: each packet is a VP8 key-frame start (so every
 * consumer forwards from the first packet) carrying its send time and a global counter, and the
 * sinks that time their arrival. Sender and sinks share one clock (this process).
 */
import dgram from "node:dgram";
import type { types } from "mediasoup";

export const PAYLOAD_TYPE = 101;
export const PRODUCER_SSRC = 0x1234_5678;
const HEADER = 12;
const VP8 = 10; // descriptor (1) + key-frame payload header (3) + start code (3) + size (3)
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export class RtpSender {
  readonly #sock = dgram.createSocket("udp4");
  readonly #size: number;
  #seq = 0;
  counter = 0;

  readonly #gapEvery: number;

  /** `gapEvery` > 0: every that many packets one RTP sequence number is skipped (a loss the
   *  receivers see and NACK; the bench's own counter in the payload has no gap). */
  constructor(size: number, gapEvery = 0) {
    this.#size = Math.max(size, HEADER + VP8 + 16);
    this.#gapEvery = gapEvery;
  }

  /** One packet to each target (the same bytes: the SFU and the direct baseline see the same load). */
  send(targets: { port: number }[]): void {
    if (this.#gapEvery > 0 && this.counter % this.#gapEvery === this.#gapEvery - 1) this.#seq++;
    const b = Buffer.alloc(this.#size);
    b[0] = 0x80;
    b[1] = PAYLOAD_TYPE | 0x80; // marker: one packet per frame
    b.writeUInt16BE(this.#seq++ & 0xffff, 2);
    b.writeUInt32BE((this.counter * 3000) >>> 0, 4);
    b.writeUInt32BE(PRODUCER_SSRC, 8);
    // VP8 descriptor S=1 PID=0; payload header P=0 (key frame); start code 9d 01 2a; 640x360.
    Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68]).copy(b, HEADER);
    b.writeDoubleBE(now(), HEADER + VP8);
    b.writeUInt32BE(this.counter++, HEADER + VP8 + 8);
    for (const t of targets) this.#sock.send(b, t.port, "127.0.0.1");
  }

  close(): void {
    this.#sock.close();
  }
}

/** Receives forwarded packets; records latency and counts per SSRC for packets in the window. */
export class RtpSink {
  readonly #sock = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
  readonly received = new Map<number, number>();
  latencies: number[] = [];
  window: { from: number; to: number } = { from: Infinity, to: -Infinity };
  port = 0;

  async open(): Promise<void> {
    this.#sock.on("message", (m) => this.#onPacket(m));
    await new Promise<void>((resolve) => this.#sock.bind(0, "127.0.0.1", resolve));
    this.port = this.#sock.address().port;
  }

  reset(window: { from: number; to: number }): void {
    this.received.clear();
    this.latencies = [];
    this.window = window;
  }

  #onPacket(m: Buffer): void {
    if (m.length < HEADER + VP8 + 12) return;
    const csrc = m[0] === undefined ? 0 : (m[0] & 0x0f) * 4;
    const ext = m[0] !== undefined && (m[0] & 0x10) !== 0 ? 4 + m.readUInt16BE(HEADER + csrc + 2) * 4 : 0;
    const body = HEADER + csrc + ext + VP8;
    if (m.length < body + 12) return;
    const counter = m.readUInt32BE(body + 8);
    if (counter < this.window.from || counter >= this.window.to) return;
    const ssrc = m.readUInt32BE(8);
    this.received.set(ssrc, (this.received.get(ssrc) ?? 0) + 1);
    this.latencies.push(now() - m.readDoubleBE(body));
  }

  close(): void {
    this.#sock.close();
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Sends `warm` + `measured` packets at `pps` to the targets; `atMeasure` runs when the measured
 * part begins (the caller reads CPU there). Returns the measured part's wall time in ms.
 */
export async function pace(sender: RtpSender, targets: { port: number }[], pps: number, warm: number, measured: number, atMeasure: () => Promise<void>, onSecond: (s: number) => void): Promise<number> {
  const interval = 1000 / pps;
  const start = performance.now();
  let t0 = start;
  for (let i = 0; i < warm + measured; i++) {
    if (i === warm) {
      await atMeasure();
      t0 = performance.now();
    }
    sender.send(targets);
    const wait = start + (i + 1) * interval - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (i % pps === 0) onSecond(Math.round(i / pps));
  }
  return performance.now() - t0;
}

/** A mediasoup worker's CPU time so far (user + system), ms. */
export async function workerCpuMs(worker: types.Worker): Promise<number> {
  const u = await worker.getResourceUsage();
  return u.ru_utime + u.ru_stime;
}
