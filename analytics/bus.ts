/**
 * The durable hop between where events are accepted (gateways, actors) and where they are
 * stored (analytics consumers). `publish` resolves only once the events would survive a crash
 * of the publishing process; a consumer acks a delivery only after the store confirmed the
 * insert, so a crash anywhere re-delivers and never loses.
 *   spool      — embedded: append-only files in DATA_DIR/analytics-spool (bus-spool.ts);
 *   jetstream  — distributed: a NATS JetStream stream, work-queue consumer (bus-jetstream.ts).
 * Payloads are JSONEachRow lines: what the store inserts, so nobody re-encodes them.
 */
import type { AppConfig } from "../lib/config.js";
import type { EncodedBatch, EventRow } from "./events.js";
import type { EventBus } from "./bus-contract.js";

export type { Backlog, Delivery, EventBus } from "./bus-contract.js";

/** Server events (few) as a batch; client events are encoded by clientBatch (events.ts). */
export function encodeRows(rows: readonly EventRow[]): EncodedBatch {
  let s = "";
  let oldest = Infinity;
  for (const r of rows) {
    s += JSON.stringify(r) + "\n";
    oldest = Math.min(oldest, r.server_ms);
  }
  return { lines: Buffer.from(s), events: rows.length, oldestMs: Number.isFinite(oldest) ? oldest : Date.now() };
}

/** One bus per process (gateway and analytics actor share it when embedded). */
const buses = new Map<string, Promise<EventBus>>();

export function openBus(cfg: AppConfig): Promise<EventBus> {
  const key = cfg.natsUrl ? `js:${cfg.natsUrl}` : `spool:${cfg.dataDir}`;
  let bus = buses.get(key);
  if (!bus) {
    bus = cfg.natsUrl
      ? import("./bus-jetstream.js").then((m) => m.JetStreamBus.open(cfg))
      : import("./bus-spool.js").then((m) => new m.SpoolBus(`${cfg.dataDir}/analytics-spool`, cfg.analytics.backlogMaxBytes));
    buses.set(key, bus);
    bus.catch(() => buses.delete(key));
  }
  return bus;
}

export async function closeBuses(): Promise<void> {
  const all = [...buses.values()];
  buses.clear();
  for (const b of all) await (await b.catch(() => undefined))?.close();
}
