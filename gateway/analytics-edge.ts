/**
 * The gateway's end of the analytics pipeline: checks and stamps client events (user, session,
 * node, server time, device), publishes them to the event bus (resolves once durable), records
 * this node's load as node.load events, and pushes alerts to admin connections.
 * Owner of: the node-load timer. Never throws at a client for one bad event: bad events are
 * dropped one by one with their reason; a full or unreachable bus is UNAVAILABLE (retry).
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import type { ServiceBroker } from "moleculer";
import type { AppConfig } from "../lib/config.js";
import { AppError } from "../lib/errors.js";
import type { Principal } from "../lib/identity.js";
import { openBus } from "../analytics/bus.js";
import { encodeRows } from "../analytics/bus.js";
import { clientBatch, deviceFrom, MAX_EVENTS_PER_BATCH, serverEventRow, type EncodedBatch } from "../analytics/events.js";

export interface Accepted {
  accepted: number;
  dropped: { i: number; reason: string }[];
}

export class AnalyticsEdge {
  readonly #cfg: AppConfig;
  readonly #broker: ServiceBroker;
  readonly #connections: () => number;
  #timer: NodeJS.Timeout | undefined;
  #cpu = process.cpuUsage();
  #cpuAt = performance.now();

  constructor(cfg: AppConfig, broker: ServiceBroker, connections: () => number) {
    this.#cfg = cfg;
    this.#broker = broker;
    this.#connections = connections;
  }

  /** Counters of this edge, on the node's /metrics. */
  static registerMetrics(m: ServiceBroker["metrics"]): void {
    m.register({ type: "counter", name: "esh.analytics.events.accepted.total", description: "Client and node events accepted into the event bus" });
    m.register({ type: "counter", name: "esh.analytics.events.dropped.total", labelNames: ["reason"], description: "Client events dropped as invalid" });
    m.register({ type: "counter", name: "esh.analytics.events.refused.total", description: "Events refused because the bus was full or unreachable (clients retry)" });
  }

  start(): void {
    this.#timer = setInterval(() => void this.#recordLoad(), this.#cfg.analytics.nodeLoadIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** A client's batch of events; `retry` when it re-sends a batch whose answer it lost. */
  async accept(events: unknown, principal: Principal, userAgent: string, deviceHint?: unknown, retry = false): Promise<Accepted> {
    if (!Array.isArray(events)) throw new AppError("BAD_REQUEST", "events must be an array");
    if (events.length > MAX_EVENTS_PER_BATCH) throw new AppError("PAYLOAD_TOO_LARGE", `At most ${MAX_EVENTS_PER_BATCH} events per batch`);
    const stamp = { userId: principal.userId, sessionId: principal.sid, node: this.#broker.nodeID, serverMs: Date.now(), device: deviceFrom(userAgent, deviceHint) };
    const { batch, dropped } = clientBatch(events, stamp, retry);
    if (dropped.length > 0) {
      this.#broker.metrics.increment("esh.analytics.events.dropped.total", { reason: "invalid" }, dropped.length);
      this.#broker.getLogger("analytics").debug(`dropped ${dropped.length} invalid event(s) from ${principal.userId}: ${dropped[0]?.reason ?? ""}`);
    }
    await this.#publish(batch);
    if (batch.events > 0) this.#touch(principal.userId);
    return { accepted: batch.events, dropped };
  }

  async #publish(batch: EncodedBatch): Promise<void> {
    if (batch.events === 0) return;
    try {
      await (await openBus(this.#cfg)).publish(batch);
    } catch (err) {
      this.#broker.metrics.increment("esh.analytics.events.refused.total", {}, batch.events);
      throw err instanceof AppError ? err : new AppError("UNAVAILABLE", `Events not accepted: ${String(err)}`);
    }
    this.#broker.metrics.increment("esh.analytics.events.accepted.total", {}, batch.events);
  }

  readonly #touched = new Map<string, number>();

  /** Tells the recommenders that this user has new events (at most once per 2 s per user). */
  #touch(userId: string): void {
    const now = Date.now();
    if (now - (this.#touched.get(userId) ?? 0) < 2000) return;
    this.#touched.set(userId, now);
    if (this.#touched.size > 100_000) this.#touched.clear();
    this.#broker.broadcast("recommenders.touch", { userId }, { groups: ["recommenders"] }).catch(() => undefined);
  }

  /** CPU of this process (percent of one core), its memory and its WebSockets. */
  async #recordLoad(): Promise<void> {
    const cpu = process.cpuUsage(this.#cpu);
    const now = performance.now();
    const pct = (100 * (cpu.user + cpu.system)) / 1000 / Math.max(1, now - this.#cpuAt);
    this.#cpu = process.cpuUsage();
    this.#cpuAt = now;
    const row = serverEventRow(randomUUID(), "node.load", this.#broker.nodeID, {
      value: Math.round(pct * 10) / 10,
      memory_bytes: process.memoryUsage.rss(),
      connections: this.#connections(),
      data: JSON.stringify({ loadavg: os.loadavg()[0] }),
    });
    await this.#publish(encodeRows([row])).catch(() => undefined);
  }
}
