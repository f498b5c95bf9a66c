/**
 * The analytics store's contract: what every backend (store-chdb.ts, store-server.ts) answers,
 * and the SQL helpers they share. Kept apart from store.ts (which opens a backend) so backends
 * depend on the contract, never on the factory.
 */
import type { Dialect } from "./schema.js";
import type { SqlParser } from "./sql-guard.js";

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

