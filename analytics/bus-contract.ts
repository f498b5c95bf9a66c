/**
 * The event bus's contract, implemented by bus-spool.ts (embedded) and bus-jetstream.ts
 * (distributed); bus.ts opens one. See bus.ts for the delivery guarantees.
 */
import type { EncodedBatch } from "./events.js";

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

