/**
 * Where events and QoE live: one interface, two backends.
 *   chdb        — embedded ClickHouse in this process, data in DATA_DIR/analytics (default);
 *   clickhouse  — a ClickHouse server over HTTP with @clickhouse/client (CLICKHOUSE_URL),
 *                 current releases and Debian's 18.16 alike (see schema.ts for the dialects).
 * Every backend applies the same migrations at open and answers the same SQL.
 */
import type { AppConfig } from "../lib/config.js";
import type { Dialect } from "./schema.js";
import { SqlGuard, type SqlParser } from "./sql-guard.js";

export interface IdWindow {
  fromMs: number;
  toMs: number;
}

export interface QueryLimits {
  maxRows: number;
  maxSeconds: number;
  maxMemoryBytes: number;
}

export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  elapsedMs: number;
  /** More rows existed than maxRows; only maxRows were returned. */
  truncated: boolean;
}

export interface AnalyticsStore {
  readonly kind: "chdb" | "clickhouse";
  readonly dialect: Dialect;
  /** Applies the migrations not yet applied; resolves with the schema version. */
  migrate(): Promise<number>;
  /** Inserts events given as JSONEachRow lines; resolves once the store holds them. */
  insert(table: string, jsonLines: Buffer): Promise<void>;
  /** Inserts the JSONEachRow lines of these files as one insert (stores that read local files:
   *  chdb). The ingester uses it for spool files that need no filtering. */
  insertFiles?(table: string, files: readonly string[]): Promise<void>;
  /** Which of these event ids are stored already. The window bounds the search: events
   *  received (server_ms) or sent (client_ms) inside it. */
  existing(ids: readonly string[], window: IdWindow): Promise<Set<string>>;
  /** Our own SQL (trusted), rows as objects. */
  rows<T>(sql: string): Promise<T[]>;
  /** An analyst's SQL, already vetted (analystQuery below): read-only settings and limits apply. */
  readonlyQuery(sql: string, limits: QueryLimits): Promise<QueryResult>;
  /** ClickHouse's parser that vets analyst SQL (chdb's: this store's session, or stateless). */
  readonly sqlParser: SqlParser;
  /** Whether the store answers now. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** One store per process and place, shared by the actors that read it (analytics,
 *  recommenders): chdb allows one connection per data directory. Each opener gets a handle
 *  whose close() releases its share; the last one closes the store. */
const shared = new Map<string, { store: Promise<AnalyticsStore>; users: number }>();

export async function openAnalyticsStore(cfg: AppConfig): Promise<AnalyticsStore> {
  const a = cfg.analytics;
  const key = a.clickhouseUrl ? `${a.clickhouseUrl}/${a.clickhouseDatabase}` : `${cfg.dataDir}/analytics`;
  let entry = shared.get(key);
  if (!entry) {
    const store: Promise<AnalyticsStore> = a.clickhouseUrl
      ? import("./store-server.js").then((m) => new m.ServerStore(a.clickhouseUrl, a.clickhouseDatabase))
      : import("./store-chdb.js").then((m) => new m.ChdbStore(`${cfg.dataDir}/analytics`));
    entry = { store, users: 0 };
    shared.set(key, entry);
  }
  entry.users++;
  const e = entry;
  return new SharedHandle(await e.store, async () => {
    if (--e.users > 0) return;
    shared.delete(key);
    await (await e.store).close();
  });
}

/** A share of a store: everything passes through; close() releases the share. */
class SharedHandle implements AnalyticsStore {
  readonly #s: AnalyticsStore;
  readonly #release: () => Promise<void>;
  #closed = false;
  readonly insertFiles?: (table: string, files: readonly string[]) => Promise<void>;

  constructor(s: AnalyticsStore, release: () => Promise<void>) {
    this.#s = s;
    this.#release = release;
    const files = s.insertFiles?.bind(s);
    if (files) this.insertFiles = files;
  }
  get kind() {
    return this.#s.kind;
  }
  get dialect() {
    return this.#s.dialect;
  }
  migrate() {
    return this.#s.migrate();
  }
  insert(table: string, lines: Buffer) {
    return this.#s.insert(table, lines);
  }
  existing(ids: readonly string[], window: IdWindow) {
    return this.#s.existing(ids, window);
  }
  rows<T>(sql: string) {
    return this.#s.rows<T>(sql);
  }
  readonlyQuery(sql: string, limits: QueryLimits) {
    return this.#s.readonlyQuery(sql, limits);
  }
  get sqlParser() {
    return this.#s.sqlParser;
  }
  ping() {
    return this.#s.ping();
  }
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    await this.#release();
  }
}

/** The WHERE clause of an id lookup: the day partitions that can hold them (a client clock is
 *  believed within 24 h, events.ts), then the ids. */
export function idLookup(ids: readonly string[], w: IdWindow): string {
  const from = Math.floor(w.fromMs) - 86_400_000;
  return `ts >= toDateTime(${Math.floor(from / 1000)}) AND (server_ms BETWEEN ${Math.floor(w.fromMs)} AND ${Math.ceil(w.toMs)} OR client_ms BETWEEN ${Math.floor(w.fromMs)} AND ${Math.ceil(w.toMs)}) AND event_id IN (${idList(ids)})`;
}

/** `existing` for any store that answers SQL: the distinct ids found within the window. */
export async function storedIds(store: Pick<AnalyticsStore, "rows">, ids: readonly string[], window: IdWindow): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await store.rows<{ event_id: string }>(`SELECT DISTINCT event_id FROM events WHERE ${idLookup(ids, window)}`);
  return new Set(rows.map((r) => r.event_id));
}

/** Quotes event ids for an IN list; ids were checked against [A-Za-z0-9_.:-] on the way in. */
export function idList(ids: readonly string[]): string {
  return ids.map((id) => `'${id.replace(/[^A-Za-z0-9_.:-]/g, "")}'`).join(",");
}

/** The wrapper every analyst query runs in: a row cap (one more than shown, to see truncation).
 *  An EXPLAIN runs as it is (its answer is a few lines; as a subquery it would need readonly off). */
export function capped(sql: string, maxRows: number): string {
  return /^EXPLAIN\b/i.test(sql) ? sql : `SELECT * FROM (\n${sql}\n) LIMIT ${maxRows + 1}`;
}

const guards = new WeakMap<AnalyticsStore, SqlGuard>();

/** An analyst's query (admin endpoint, `npm run sql`): vetted by ClickHouse's own parser
 *  (sql-guard.ts), then ClickHouse's formatting of it runs with read-only settings and limits. */
export async function analystQuery(store: AnalyticsStore, sql: unknown, limits: QueryLimits): Promise<QueryResult> {
  let guard = guards.get(store);
  if (!guard) {
    guard = new SqlGuard(store.sqlParser, async () => (await store.rows<{ name: string }>("SELECT name FROM system.tables WHERE database = currentDatabase()")).map((r) => r.name));
    guards.set(store, guard);
  }
  return store.readonlyQuery(await guard.vet(sql), limits);
}
