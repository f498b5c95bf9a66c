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

export interface Delivery {
  /** JSONEachRow lines, one per event (read when asked: the fast path may never need them). */
  lines(): Buffer;
  /** Where the lines already are on this machine (a spool file), for stores that read files. */
  file?: string;
  events: number;
  /** Delivered before (a crash or failed insert may have stored some of it already). */
  redelivered: boolean;
  /** Holds events a client re-sent (`retry`): their ids are looked up before the insert. */
  hasRetries: boolean;
  /** Server time of the oldest event, for ingest lag. */
  oldestMs: number;
  ack(): Promise<void>;
  /** Still being worked on (the store is down and we retry): do not redeliver it yet. */
  working(): void;
}

export interface Backlog {
  /** Accepted and not yet stored, counted in `unit`. */
  pending: number;
  unit: "events" | "batches";
  bytes: number;
  limitBytes: number;
}

export interface EventBus {
  readonly kind: "spool" | "jetstream";
  /** Durably accepts a batch. Rejects UNAVAILABLE when the backlog is full (bounded). */
  publish(batch: EncodedBatch): Promise<void>;
  /** Up to `maxEvents` events (whole deliveries), waiting up to `waitMs` for the first. */
  fetch(maxEvents: number, waitMs: number): Promise<Delivery[]>;
  backlog(): Promise<Backlog>;
  close(): Promise<void>;
}

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
