/**
 * Where events and QoE live: one interface, two backends.
 *   chdb        — embedded ClickHouse in this process, data in DATA_DIR/analytics (default);
 *   clickhouse  — a ClickHouse server over HTTP with @clickhouse/client (CLICKHOUSE_URL),
 *                 current releases and Debian's 18.16 alike (see schema.ts for the dialects).
 * Every backend applies the same migrations at open and answers the same SQL.
 */
import type { AppConfig } from "../lib/config.js";
import { SqlGuard } from "./sql-guard.js";
import type { AnalyticsStore, IdWindow, QueryLimits, QueryResult } from "./store-contract.js";

export type { AnalyticsStore, IdWindow, QueryLimits, QueryResult } from "./store-contract.js";

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
