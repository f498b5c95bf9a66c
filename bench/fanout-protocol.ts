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
    if (seen >= target) return i / 10;
  }
  return (hist.length - 1) / 10;
}

export type WorkerCommand =
  | { cmd: "connect"; kind: ServerKind; url: string; clients: { token: string; room: string }[]; addresses: string[] }
  | { cmd: "step"; id: string; rates: Record<string, { chat: number; react: number }>; seconds: number; drainMs: number }
  | { cmd: "close" };

export interface StepReport {
  type: "step";
  hist: number[];
  /** [message key, room] of every chat this worker sent. */
  sent: [string, string][];
  /** [message key, times received by this worker's clients]. */
  received: [string, number][];
}

export type WorkerMessage = StepReport | { type: "connected"; n: number } | { type: "progress"; connected: number } | { type: "error"; message: string };
