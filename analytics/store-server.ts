/**
 * The server backend: a ClickHouse server over HTTP through @clickhouse/client. Works with
 * current servers and with Debian's 18.16 (legacy dialect, detected from version()).
 * Analyst queries run with readonly = 1 and the limits as request settings, so the server
 * itself refuses writes and settings changes as a second line behind sql-guard, which vets
 * them with chdb's parser (always installed).
 */
import { Readable } from "node:stream";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { applyMigrations } from "./migrate.js";
import type { Dialect } from "./schema.js";
import { queryError } from "./store-chdb.js";
import { chdbParser } from "./sql-parser-chdb.js";
import type { SqlParser } from "./sql-guard.js";
import { capped, storedIds, type AnalyticsStore, type IdWindow, type QueryLimits, type QueryResult } from "./store-contract.js";

interface JsonBody {
  meta: { name: string; type: string }[];
  data: unknown[][];
}

export class ServerStore implements AnalyticsStore {
  readonly kind = "clickhouse";
  dialect: Dialect = "current";
  readonly #url: string;
  readonly #database: string;
  #client: ClickHouseClient;
  /** chdb's parser, stateless (this process has no chdb session): 18.16 has no EXPLAIN AST. */
  readonly sqlParser: SqlParser = chdbParser();

  constructor(url: string, database: string) {
    this.#url = url;
    this.#database = database;
    this.#client = createClient({ url, request_timeout: 30_000, compression: { request: false, response: false } });
  }

  async migrate(): Promise<number> {
    const [v] = await this.rows<{ v: string }>("SELECT version() AS v");
    const major = Number((v?.v ?? "0").split(".")[0]);
    this.dialect = major < 20 ? "legacy" : "current";
    await this.#client.command({ query: `CREATE DATABASE IF NOT EXISTS ${this.#database}` });
    await this.#client.close();
    this.#client = createClient({ url: this.#url, database: this.#database, request_timeout: 30_000, compression: { request: false, response: false } });
    return applyMigrations(this, (sql) => this.#client.command({ query: sql }).then(() => undefined));
  }

  async insert(table: string, jsonLines: Buffer): Promise<void> {
    if (jsonLines.length === 0) return;
    const r = await this.#client.exec({
      query: `INSERT INTO ${table} FORMAT JSONEachRow`,
      values: Readable.from([jsonLines]),
      clickhouse_settings: { input_format_skip_unknown_fields: 1 },
    });
    r.stream.resume();
  }

  existing(ids: readonly string[], window: IdWindow): Promise<Set<string>> {
    return storedIds(this, ids, window);
  }

  async rows<T>(sql: string): Promise<T[]> {
    const r = await this.#client.query({ query: sql, format: "JSONEachRow", clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
    return r.json<T>();
  }

  async readonlyQuery(sql: string, limits: QueryLimits): Promise<QueryResult> {
    const started = performance.now();
    try {
      const r = await this.#client.query({
        query: capped(sql, limits.maxRows),
        format: "JSONCompact",
        clickhouse_settings: {
          readonly: "1",
          max_execution_time: limits.maxSeconds,
          max_memory_usage: String(limits.maxMemoryBytes),
          output_format_json_quote_64bit_integers: 0,
        },
      });
      const body = (await r.json()) as unknown as JsonBody;
      return { columns: body.meta, rows: body.data.slice(0, limits.maxRows), truncated: body.data.length > limits.maxRows, elapsedMs: performance.now() - started };
    } catch (err) {
      throw queryError(err);
    }
  }

  ping(): Promise<boolean> {
    return this.#client.ping().then((r) => r.success, () => false);
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
