/**
 * The analyst-query guard against real ClickHouse (chdb, the embedded store with the real
 * schema and a few dozen events): every query of the hostile corpus is refused with a reason
 * before it runs, and every real analyst query answers rows. The same corpora run against a
 * ClickHouse server in test/analytics-server.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ChdbStore } from "./store-chdb.js";
import { analystQuery } from "./store.js";
import { corpusEvents, type AnalystQuery, type HostileQuery } from "./sql-corpus/events.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const HOSTILE = JSON.parse(readFileSync(path.join(here, "sql-corpus", "hostile.json"), "utf8")) as HostileQuery[];
export const ANALYST = JSON.parse(readFileSync(path.join(here, "sql-corpus", "analyst.json"), "utf8")) as AnalystQuery[];
const LIMITS = { maxRows: 100, maxSeconds: 10, maxMemoryBytes: 1e9 };

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-sqlguard-"));
let store: ChdbStore;

before(async () => {
  store = new ChdbStore(dir);
  await store.migrate();
  await store.insert("events", corpusEvents());
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("analyst SQL guard (chdb)", () => {
  it("the corpus events fall within the last hour and today at any hour, midnight included (a CI run at 00:20 found none 'today')", () => {
    const at = (h: number, m: number, s = 0) => {
      const d = new Date(Date.UTC(2026, 11, 1, h, m, s));
      return [d.getTime(), new Date(2026, 11, 1, h, m, s).getTime()];
    };
    for (const now of [...at(0, 10), ...at(0, 0, 3), ...at(0, 55), ...at(12, 0), ...at(23, 59, 59)]) {
      const local = new Date(now);
      local.setHours(0, 0, 0, 0);
      const utc = new Date(now);
      utc.setUTCHours(0, 0, 0, 0);
      const times = corpusEvents(now).toString().trim().split("\n").map((l) => (JSON.parse(l) as { server_ms: number }).server_ms);
      const when = new Date(now).toISOString();
      assert.ok(Math.min(...times) >= Math.max(local.getTime(), utc.getTime(), now - 3_600_000), `${when}: an event before midnight or the last hour`);
      assert.ok(Math.max(...times) <= now, `${when}: an event in the future`);
      assert.ok(new Set(times).size > 1, `${when}: the events keep their spread`);
    }
  });

  it(`refuses all ${HOSTILE.length} hostile queries with a reason, before running them`, async () => {
    assert.ok(HOSTILE.length >= 200);
    const passed: string[] = [];
    for (const q of HOSTILE) {
      try {
        await analystQuery(store, q.sql, LIMITS);
        passed.push(`[${q.class}] ${q.sql}`);
      } catch (err) {
        const e = err as { type?: string; message?: string; data?: { reason?: string } };
        if (e.type !== "BAD_REQUEST" || !/^Query refused: /.test(e.message ?? "") || !e.data?.reason) passed.push(`[${q.class}] ${q.sql} -> ${String(e.message)}`);
      }
    }
    assert.deepEqual(passed, [], `not refused by the guard:\n${passed.join("\n")}`);
  });

  it("the issue's example is refused because of file(), not by luck", async () => {
    await assert.rejects(analystQuery(store, "SELECT 1 AS `a'`, file('/etc/passwd') AS f, 2 AS `b'`", LIMITS), /function file\(\) is not allowed/);
  });

  it(`answers rows for all ${ANALYST.length} real analyst queries (CTEs, windows, joins, arrays, quantiles, intervals)`, async () => {
    assert.ok(ANALYST.length >= 30);
    const failed: string[] = [];
    for (const q of ANALYST) {
      try {
        const r = await analystQuery(store, q.sql, LIMITS);
        if (r.rows.length === 0) failed.push(`${q.what}: no rows`);
      } catch (err) {
        failed.push(`${q.what}: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(failed, []);
  });

  it("runs ClickHouse's own formatting of the text, one statement, its limits applied", async () => {
    const r = await analystQuery(store, "select type, count() as n from events group by type order by n desc -- trailing comment\n;", LIMITS);
    assert.ok(r.rows.length > 0);
    await assert.rejects(analystQuery(store, "SELECT count() FROM events; SELECT 1", LIMITS), /one statement/);
    const capped = await analystQuery(store, "SELECT number FROM (SELECT arrayJoin(range(1000)) AS number)", { ...LIMITS, maxRows: 10 });
    assert.equal(capped.rows.length, 10);
    assert.equal(capped.truncated, true);
  });
});
