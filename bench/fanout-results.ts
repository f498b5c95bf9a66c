/** The fan-out bench's options and results (printed, written as JSON, drawn by fanout-chart.ts). */
import type { ServerKind } from "./fanout-clients.js";

export const SLO_P99_MS = 50;
/** Beyond this p99 a server no longer keeps up (its queues grow), whatever it delivers. */
export const KEEP_UP_P99_MS = 1000;

export interface Options {
  clients: number;
  rooms: number;
  chatRate?: number;
  reactionRate: number;
  servers: ServerKind[];
  /** Batching windows: every server runs once per window (0 = one frame per item). */
  batches: number[];
  /** Bisection steps between the highest held rung and the next (0 = the ladder only). */
  refine: number;
  workers: number;
  /** Gateway processes for "ours": 1 = embedded node; more = NATS + actors node + that many gateways. */
  gateways: number;
  addresses: number;
  stepSeconds: number;
  /** Write a CPU profile of our node(s) during the steps into this directory (`--cpu-prof`). */
  profile?: string;
  json?: string;
}

export interface StepResult {
  chatRate: number;
  p50: number;
  p99: number;
  p999: number;
  sent: number;
  /** Chats actually offered per second (the clients' clock-driven schedule). */
  sentPerSec: number;
  /** Deliveries owed: each chat once to each member of its room. */
  expected: number;
  /** Distinct chats received, summed over clients. */
  delivered: number;
  /** Owed and never received, summed over clients. */
  lost: number;
  /** Receipts of a chat the client already had. */
  dups: number;
  /** Clients that missed at least one chat. */
  clientsMissing: number;
  /** Requests the server refused, by error code (a refused chat is lost to every member). */
  refused: Record<string, number>;
  deliveriesPerSec: number;
  serverCpuSec: number;
  /** Server CPU microseconds per delivery (all server processes). */
  usPerDelivery: number;
  serverCpuPct: number;
  /** Share of the server's CPU spent in the kernel (socket writes, loopback TCP), %. */
  serverKernelPct: number;
  serverRssMB: number;
  /** CPU of all client processes together, % of one core: when near 100% x cores, the clients limit the figures. */
  clientCpuPct: number;
  /** Whole machine busy %, kernel (loopback TCP, softirq) included: near 100 means the box is the limit. */
  machineBusyPct: number;
  /** Holds the SLO: p99 <= SLO_P99_MS, nothing lost or duplicated. */
  pass: boolean;
  /** Keeps up: p99 <= KEEP_UP_P99_MS, nothing lost or duplicated. */
  keepsUp: boolean;
}

export interface ServerResult {
  kind: ServerKind;
  batchMs: number;
  /** Server processes measured (CPU and RSS are summed over them). */
  processes: number;
  connected: number;
  memPerConnKB: number;
  /** Steps in the order they ran (ladder, then refinement). */
  steps: StepResult[];
  /** The highest rate such that it and every lower rate held the SLO. */
  sustainable?: StepResult;
  /** The highest rate such that it and every lower rate kept up. */
  saturation?: StepResult;
}

export const label = (r: Pick<ServerResult, "kind" | "batchMs">): string => `${r.kind}${r.batchMs > 0 ? ` batched ${r.batchMs} ms` : " unbatched"}`;
export const stepsByRate = (r: ServerResult): StepResult[] => [...r.steps].sort((a, b) => a.chatRate - b.chatRate);
