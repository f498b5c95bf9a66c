/**
 * The consumer side of the bus: fetch deliveries, drop events stored already, insert them in
 * one batch, and ack only after the store confirmed. While the store is down, the same
 * deliveries are retried with backoff (events accumulate in the bus, bounded) and the retry
 * checks which ids made it in before the failure, so nothing is inserted twice.
 *
 * Duplicates have two sources, and every event that may be one is looked up in the store:
 *   - a redelivery (crash, failed or timed-out insert): every id of the delivery;
 *   - a client re-sending a batch whose answer it lost (`retry`, marked `"r":1` on the line);
 *     its original is either stored already (batches are inserted one after the other) or in
 *     the same batch (dropped there).
 * First deliveries of fresh events, the normal case, are inserted as they came: no lookup, no
 * per-line work. (Several analytics nodes on one JetStream consumer could see a retry copy
 * while another node is still inserting its original: see docs/events.md.)
 */
import type { Delivery, EventBus } from "./bus-contract.js";
import type { AnalyticsStore } from "./store-contract.js";

const ID_PREFIX = '{"event_id":"';
const RETRY_SUFFIX = ',"r":1}';

export interface IngestStats {
  stored: number;
  duplicates: number;
  insertErrors: number;
  batches: number;
  storeUp: boolean;
  lastError: string;
  /** Delivery-level ingest lag (accepted -> stored), recent window. */
  lagP50Ms: number;
  lagP99Ms: number;
  lastInsertMs: number;
}

export interface IngestOptions {
  maxEvents: number;
  flushMs: number;
  log: { info(msg: string): void; warn(msg: string): void };
}

export class Ingester {
  readonly stats: IngestStats = { stored: 0, duplicates: 0, insertErrors: 0, batches: 0, storeUp: true, lastError: "", lagP50Ms: 0, lagP99Ms: 0, lastInsertMs: 0 };
  readonly #bus: EventBus;
  readonly #store: AnalyticsStore;
  readonly #opts: IngestOptions;
  readonly #lags: number[] = [];
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(bus: EventBus, store: AnalyticsStore, opts: IngestOptions) {
    this.#bus = bus;
    this.#store = store;
    this.#opts = opts;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const ds = await this.#bus.fetch(this.#opts.maxEvents, this.#opts.flushMs).catch((err: unknown) => {
        this.#opts.log.warn(`analytics: bus fetch failed: ${String(err)}`);
        return sleep(1000).then(() => [] as Delivery[]);
      });
      if (ds.length > 0) await this.#deliver(ds);
    }
  }

  /** Inserts these deliveries, retrying until the store takes them or we stop. */
  async #deliver(ds: Delivery[]): Promise<void> {
    let uncertain = ds.some((d) => d.redelivered);
    for (let attempt = 0; this.#running || attempt === 0; attempt++) {
      try {
        await this.#insert(ds, uncertain);
        if (!this.stats.storeUp) this.#opts.log.info("analytics: store is back; backlog draining");
        this.stats.storeUp = true;
        return;
      } catch (err) {
        uncertain = true; // a failed insert may still have landed
        this.stats.insertErrors++;
        this.stats.lastError = err instanceof Error ? err.message.slice(0, 300) : String(err);
        if (this.stats.storeUp) this.#opts.log.warn(`analytics: insert failed, events kept in the bus and retried: ${this.stats.lastError}`);
        this.stats.storeUp = false;
        for (const d of ds) d.working();
        await sleep(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  async #insert(ds: Delivery[], uncertain: boolean): Promise<void> {
    const total = ds.reduce((n, d) => n + d.events, 0);
    let stored = total;
    if (uncertain || ds.some((d) => d.redelivered || d.hasRetries)) {
      const kept = await this.#dedupe(ds, uncertain);
      if (kept.count > 0) await this.#store.insert("events", kept.lines);
      stored = kept.count;
    } else if (this.#store.insertFiles && ds.every((d) => d.file)) {
      // Fresh spool files: the store reads them where they are (no copy, no parsing here).
      await this.#store.insertFiles("events", ds.map((d) => d.file ?? ""));
    } else {
      await this.#store.insert("events", Buffer.concat(ds.map((d) => d.lines())));
    }
    for (const d of ds) await d.ack();
    this.#account(ds, total - stored, stored);
  }

  /** The lines that are not stored yet: flagged ones are looked up in the store, and a retry
   *  copy whose original is in this same batch is dropped too. */
  async #dedupe(ds: Delivery[], uncertain: boolean): Promise<{ lines: Buffer; count: number }> {
    const lines: string[] = [];
    const check: boolean[] = []; // may be stored already: look it up
    for (const d of ds) {
      for (const l of d.lines().toString().split("\n")) {
        if (l.length === 0) continue;
        lines.push(l);
        check.push(uncertain || d.redelivered || l.endsWith(RETRY_SUFFIX));
      }
    }
    const ids = lines.map(idOf);
    const stored = await this.#storedAlready(ids, lines, check);
    const seen = new Set<string>();
    const keep: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const id = ids[i] ?? "";
      if (stored.has(id) || seen.has(id)) continue;
      seen.add(id);
      keep.push(lines[i] ?? "");
    }
    return { lines: Buffer.from(keep.join("\n")), count: keep.length };
  }

  /** Ids of the flagged lines that the store holds already (after a crash, a failed insert, or
   *  a client's re-send), looked up in chunks within the lines' time window. */
  async #storedAlready(ids: string[], lines: string[], check: boolean[]): Promise<Set<string>> {
    const found = new Set<string>();
    const want: string[] = [];
    let fromMs = Infinity;
    let toMs = 0;
    for (let i = 0; i < lines.length; i++) {
      if (!check[i]) continue;
      want.push(ids[i] ?? "");
      for (const ms of timesOf(lines[i] ?? "")) {
        if (ms < fromMs) fromMs = ms;
        if (ms > toMs) toMs = ms;
      }
    }
    for (let i = 0; i < want.length; i += 5000) for (const id of await this.#store.existing(want.slice(i, i + 5000), { fromMs, toMs })) found.add(id);
    return found;
  }

  #account(ds: Delivery[], duplicates: number, stored: number): void {
    const now = Date.now();
    this.stats.stored += stored;
    this.stats.duplicates += duplicates;
    this.stats.batches++;
    this.stats.lastInsertMs = now;
    for (const d of ds) this.#lags.push(now - d.oldestMs);
    if (this.#lags.length > 2000) this.#lags.splice(0, this.#lags.length - 2000);
    const sorted = [...this.#lags].sort((a, b) => a - b);
    this.stats.lagP50Ms = sorted[Math.floor(sorted.length * 0.5)] ?? 0;
    this.stats.lagP99Ms = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  }
}

/** The event id at the start of a line the bus wrote (events.ts puts event_id first). */
function idOf(line: string): string {
  return line.startsWith(ID_PREFIX) ? line.slice(ID_PREFIX.length, line.indexOf('"', ID_PREFIX.length)) : (JSON.parse(line) as { event_id: string }).event_id;
}

/** client_ms and server_ms of a line (read off the text, not parsed). */
function timesOf(line: string): number[] {
  const at = (key: string) => {
    const i = line.indexOf(key);
    return i < 0 ? Date.now() : Number.parseInt(line.slice(i + key.length, i + key.length + 16), 10);
  };
  return [at('"client_ms":'), at('"server_ms":')];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
