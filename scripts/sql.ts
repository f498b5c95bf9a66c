/**
 * `npm run sql -- "SELECT ..." [--json] [--url http://127.0.0.1:8080 --user U --password P]`
 * Runs one read-only query against the configured analytics store and prints a table.
 *   - CLICKHOUSE_URL set: straight to that ClickHouse server;
 *   - else the embedded chdb store in DATA_DIR/analytics, opened read-only by this process;
 *     when a running platform holds that directory (chdb allows one process per directory),
 *     or with --url, the query goes through the gateway's admin endpoint instead
 *     (credentials from --user/--password or ADMIN_USER/ADMIN_PASSWORD or ESH_USER/ESH_PASSWORD).
 * The same guard (ClickHouse's parser, analytics/sql-guard.ts) and limits as the admin endpoint
 * apply either way.
 */
import { existsSync } from "node:fs";
import { loadConfig } from "../lib/config.js";
import { analystQuery, type QueryLimits, type QueryResult } from "../analytics/store.js";

const args = process.argv.slice(2);
const opt = (name: string, fallback = ""): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const sql = args.find((a, i) => !a.startsWith("--") && !/^--(url|user|password)$/.test(args[i - 1] ?? ""));

async function main(): Promise<void> {
  if (!sql) {
    console.error('usage: npm run sql -- "SELECT type, count() FROM events GROUP BY type" [--json] [--url URL --user U --password P]');
    process.exit(2);
  }
  const cfg = loadConfig();
  const limits = { maxRows: cfg.analytics.queryMaxRows, maxSeconds: cfg.analytics.queryMaxSeconds, maxMemoryBytes: cfg.analytics.queryMaxMemoryBytes };
  let result: QueryResult;
  if (opt("url")) result = await viaGateway(opt("url"), sql);
  else if (cfg.analytics.clickhouseUrl) {
    const { ServerStore } = await import("../analytics/store-server.js");
    const store = new ServerStore(cfg.analytics.clickhouseUrl, cfg.analytics.clickhouseDatabase);
    await store.migrate();
    result = await analystQuery(store, sql, limits).finally(() => void store.close());
  } else result = await embedded(`${cfg.dataDir}/analytics`, sql, limits, `http://${cfg.host}:${cfg.port}`);
  print(result);
}

async function embedded(dir: string, statement: string, limits: QueryLimits, gateway: string): Promise<QueryResult> {
  if (!existsSync(dir)) throw new Error(`no analytics data in ${dir} yet (start the platform, or set DATA_DIR / CLICKHOUSE_URL)`);
  const { ChdbStore } = await import("../analytics/store-chdb.js");
  let store;
  try {
    store = new ChdbStore(dir);
    return await analystQuery(store, statement, limits);
  } catch (err) {
    if (!/lock|already|in use|create connection/i.test(String(err))) throw err;
    console.error(`(${dir} is held by a running platform: asking its gateway at ${gateway})`);
    return await viaGateway(gateway, statement);
  } finally {
    await store?.close();
  }
}

async function viaGateway(url: string, statement: string): Promise<QueryResult> {
  const base = url.replace(/\/+$/, "");
  const username = opt("user", process.env.ADMIN_USER ?? process.env.ESH_USER ?? "");
  const password = opt("password", process.env.ADMIN_PASSWORD ?? process.env.ESH_PASSWORD ?? "");
  if (!username || !password) throw new Error("the gateway needs an admin: --user U --password P (or ADMIN_USER / ADMIN_PASSWORD)");
  const login = await fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) });
  const tokens = (await login.json()) as { accessToken?: string; error?: { message: string } };
  if (!tokens.accessToken) throw new Error(`login failed: ${tokens.error?.message ?? login.status}`);
  const r = await fetch(`${base}/api/analytics/query`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${tokens.accessToken}` }, body: JSON.stringify({ sql: statement }) });
  const body = (await r.json()) as QueryResult & { error?: { message: string } };
  if (!r.ok) throw new Error(body.error?.message ?? `HTTP ${r.status}`);
  return body;
}

function print(r: QueryResult): void {
  if (args.includes("--json")) return void process.stdout.write(JSON.stringify(r) + "\n");
  const head = r.columns.map((c) => c.name);
  const cells = r.rows.map((row) => row.map((v) => (typeof v === "string" ? v : JSON.stringify(v))));
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length))));
  const line = (vals: string[]) => vals.map((v, i) => (v.length > 60 ? v.slice(0, 57) + "..." : v).padEnd(widths[i] ?? 0)).join(" | ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("-+-"));
  for (const c of cells) console.log(line(c));
  console.log(`(${r.rows.length} row${r.rows.length === 1 ? "" : "s"}${r.truncated ? ", truncated at the row limit" : ""}, ${r.elapsedMs.toFixed(1)} ms)`);
}

main().catch((err: unknown) => {
  console.error(`sql: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
