/** The fan-out bench's options and results (printed, written as JSON, drawn by fanout-chart.ts). */
import type { ServerKind } from "./fanout-clients.js";

export interface Options {
  clients: number;
  rooms: number;
  chatRate?: number;
  reactionRate: number;
  servers: ServerKind[];
  workers: number;
  /** Gateway processes for "ours": 1 = embedded node; more = NATS + actors node + that many gateways. */
  gateways: number;
  addresses: number;
  stepSeconds: number;
  json?: string;
}

export interface StepResult {
  chatRate: number;
  p50: number;
  p99: number;
  p999: number;
  sent: number;
  expected: number;
  delivered: number;
  undelivered: number;
  deliveriesPerSec: number;
  serverCpuPct: number;
  serverRssMB: number;
  /** CPU of all client processes together, % of one core: when near 100% x cores, the clients limit the figures. */
  clientCpuPct: number;
  /** Whole machine busy %, kernel (loopback TCP, softirq) included: near 100 means the box is the limit. */
  machineBusyPct: number;
  pass: boolean;
}

export interface ServerResult {
  kind: ServerKind;
  connected: number;
  memPerConnKB: number;
  steps: StepResult[];
  sustainable?: StepResult;
}
