/** Messages between the fan-out coordinator and its client processes, and the histogram. */
import type { ServerKind } from "./fanout-clients.js";

/** Latency histogram: 0.1 ms buckets up to 5 s, then one overflow bucket. */
export const HIST_BUCKETS = 50_001;
export const histIndex = (ms: number): number => Math.min(HIST_BUCKETS - 1, Math.max(0, Math.floor(ms * 10)));

export function percentile(hist: number[], p: number): number {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  const target = Math.ceil(p * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i] ?? 0;
    if (seen >= target) return (i + 1) / 10; // the bucket's upper edge: never below the true value
  }
  return (hist.length - 1) / 10;
}

export type WorkerCommand =
  | { cmd: "connect"; worker: number; kind: ServerKind; url: string; clients: { token: string; room: string }[]; addresses: string[] }
  | { cmd: "step"; id: string; rates: Record<string, { chat: number; react: number }>; seconds: number; drainMs: number }
  | { cmd: "close" };

export interface StepReport {
  type: "step";
  /** Latency of each first receipt (duplicates are not timed). */
  hist: number[];
  /** [room, chats this worker sent to it]. */
  sent: [string, number][];
  /** Per client of this worker: [room, distinct chats of this step it received, receipts of a chat it already had]. */
  clients: [string, number, number][];
  /** [error code, requests of this step the server refused with it]. */
  refused: [string, number][];
}

export type WorkerMessage = StepReport | { type: "connected"; n: number } | { type: "progress"; connected: number } | { type: "error"; message: string };

/** Which chats one client has received, by sender worker and that worker's message number. */
export class Receipts {
  readonly #seen: Uint8Array[] = [];
  unique = 0;
  dups = 0;

  /** Records a receipt; false if this client had it already (a duplicate). */
  add(worker: number, n: number): boolean {
    let bits = this.#seen[worker];
    if (!bits || bits.length <= n >> 3) {
      const grown = new Uint8Array(Math.max(64, (n >> 3) * 2 + 1));
      if (bits) grown.set(bits);
      this.#seen[worker] = bits = grown;
    }
    const mask = 1 << (n & 7);
    if ((bits[n >> 3] ?? 0) & mask) {
      this.dups++;
      return false;
    }
    bits[n >> 3] = (bits[n >> 3] ?? 0) | mask;
    this.unique++;
    return true;
  }
}
