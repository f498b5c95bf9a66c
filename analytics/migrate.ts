/** Applies schema.ts migrations in order, once each, recording them in schema_migrations. */
import { MIGRATIONS, MIGRATIONS_TABLE } from "./schema.js";
import type { AnalyticsStore } from "./store-contract.js";

export async function applyMigrations(store: AnalyticsStore, exec: (sql: string) => Promise<void>): Promise<number> {
  await exec(MIGRATIONS_TABLE);
  const done = new Set((await store.rows<{ version: number | string }>("SELECT version FROM schema_migrations")).map((r) => Number(r.version)));
  let version = 0;
  for (const m of MIGRATIONS) {
    if (!done.has(m.version)) {
      for (const sql of m.statements(store.dialect)) await exec(sql);
      await exec(`INSERT INTO schema_migrations (version, name, applied_ms) VALUES (${m.version}, '${m.name.replace(/'/g, "")}', ${Date.now()})`);
    }
    version = m.version;
  }
  return version;
}
