/**
 * The embedded bus: events are appended to a spool file before `publish` resolves, so a crash
 * (kill -9 included) loses nothing accepted. Files roll over every 4 MB or when a consumer
 * fetches; the consumer reads whole closed files, oldest first, and deletes each one once
 * its insert is confirmed. Files found at start are delivered as `redelivered` (their insert
 * may have happened just before the crash). Backlog is bounded by the bytes in the spool.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { AppError } from "../lib/errors.js";
import type { EncodedBatch } from "./events.js";
import type { Backlog, Delivery, EventBus } from "./bus-contract.js";

const ROLL_BYTES = 4 << 20;

interface Closed {
  file: string;
  bytes: number;
  events: number;
  oldestMs: number;
  redelivered: boolean;
  hasRetries: boolean;
}

export class SpoolBus implements EventBus {
  readonly kind = "spool";
  readonly #dir: string;
  readonly #limit: number;
  readonly #closed: Closed[] = [];
  #fd = -1;
  #current = "";
  #currentBytes = 0;
  #currentEvents = 0;
  #currentOldest = 0;
  #currentRetries = false;
  #next = 0;
  #bytes = 0;
  #events = 0;
  #waiters: (() => void)[] = [];

  constructor(dir: string, limitBytes: number) {
    this.#dir = dir;
    this.#limit = limitBytes;
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort()) this.#recover(name);
  }

  /** A file left by the previous run: delivered again, flagged so its ids are checked. */
  #recover(name: string): void {
    const file = path.join(this.#dir, name);
    const bytes = statSync(file).size;
    this.#next = Math.max(this.#next, Number.parseInt(name, 10) + 1);
    if (bytes === 0) return unlinkSync(file);
    const events = readFileSync(file).reduce((n, b) => (b === 10 ? n + 1 : n), 0);
    this.#closed.push({ file, bytes, events, oldestMs: Date.now(), redelivered: true, hasRetries: true });
    this.#bytes += bytes;
    this.#events += events;
  }

  publish(batch: EncodedBatch): Promise<void> {
    if (batch.events === 0) return Promise.resolve();
    if (this.#bytes >= this.#limit) return Promise.reject(new AppError("UNAVAILABLE", "Analytics backlog is full: retry later", { backlogBytes: this.#bytes }));
    const buf = batch.lines;
    if (this.#fd < 0) this.#open(batch.oldestMs);
    writeSync(this.#fd, buf);
    this.#currentBytes += buf.length;
    this.#currentEvents += batch.events;
    this.#currentRetries ||= batch.retry === true;
    this.#bytes += buf.length;
    this.#events += batch.events;
    if (this.#currentBytes >= ROLL_BYTES) this.#roll();
    for (const w of this.#waiters.splice(0)) w();
    return Promise.resolve();
  }

  #open(oldestMs: number): void {
    this.#current = path.join(this.#dir, `${String(this.#next++).padStart(12, "0")}.jsonl`);
    this.#fd = openSync(this.#current, "a");
    this.#currentOldest = oldestMs;
  }

  #roll(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#closed.push({ file: this.#current, bytes: this.#currentBytes, events: this.#currentEvents, oldestMs: this.#currentOldest, redelivered: false, hasRetries: this.#currentRetries });
    this.#fd = -1;
    this.#currentBytes = 0;
    this.#currentEvents = 0;
    this.#currentRetries = false;
  }

  async fetch(maxEvents: number, waitMs: number): Promise<Delivery[]> {
    if (this.#closed.length === 0 && this.#currentEvents === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        this.#waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
    if (this.#closed.length === 0) this.#roll();
    const out: Delivery[] = [];
    let n = 0;
    for (const c of this.#closed) {
      if (out.length > 0 && n + c.events > maxEvents) break;
      out.push(this.#delivery(c));
      n += c.events;
    }
    return out;
  }

  #delivery(c: Closed): Delivery {
    const redelivered = c.redelivered;
    c.redelivered = true; // if this one is not acked, the next fetch hands it out again, flagged
    return {
      lines: () => readFileSync(c.file),
      file: c.file,
      events: c.events,
      redelivered,
      hasRetries: c.hasRetries,
      oldestMs: c.oldestMs,
      working: () => undefined,
      ack: () => {
        const i = this.#closed.indexOf(c);
        if (i < 0) return Promise.resolve();
        this.#closed.splice(i, 1);
        unlinkSync(c.file);
        this.#bytes -= c.bytes;
        this.#events -= c.events;
        return Promise.resolve();
      },
    };
  }

  backlog(): Promise<Backlog> {
    return Promise.resolve({ pending: this.#events, unit: "events", bytes: this.#bytes, limitBytes: this.#limit });
  }

  close(): Promise<void> {
    this.#roll();
    for (const w of this.#waiters.splice(0)) w();
    return Promise.resolve();
  }
}
