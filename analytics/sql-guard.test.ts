import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkAnalystSql } from "./sql-guard.js";

describe("sql-guard", () => {
  it("lets one SELECT over the analytics tables through", () => {
    for (const sql of [
      "SELECT type, count() FROM events GROUP BY type",
      "select * from qoe_per_minute where stream_id = 'a' order by minute;",
      "WITH recent AS (SELECT * FROM events WHERE ts > now() - 60) SELECT count() FROM recent",
      "SELECT e.type FROM events AS e JOIN qoe_per_minute q ON q.stream_id = e.stream_id",
      "SELECT count() FROM (SELECT arrayJoin(range(10)) AS a) AS x CROSS JOIN (SELECT 1 AS b) AS y",
      "SELECT 'DROP TABLE events; --' AS s /* ; DELETE */",
      "SELECT 1",
    ]) assert.equal(typeof checkAnalystSql(sql), "string", sql);
  });

  it("refuses writes, DDL, settings, other tables, table functions and second statements", () => {
    for (const sql of [
      "DROP TABLE events",
      "INSERT INTO events SELECT * FROM events",
      "SELECT * FROM system.tables",
      "SELECT * FROM events, secret_table",
      "SELECT * FROM events, (SELECT * FROM other)",
      "SELECT * FROM events AS e, default.secret",
      "SELECT * FROM `system`.`one`",
      "SELECT * FROM \"SYSTEM\".one",
      "SELECT * FROM numbers(1000000000000)",
      "SELECT * FROM remote('127.0.0.1', default.events)",
      "SELECT * FROM events; DROP TABLE events",
      "SELECT 1 -- ok\n; DROP TABLE events",
      "SELECT * FROM events SETTINGS max_execution_time = 100000",
      "SELECT * FROM events FORMAT Native",
      "SHOW TABLES",
      "SELECT 'unterminated",
      "",
      "x".repeat(10_001),
    ]) assert.throws(() => checkAnalystSql(sql), /Query refused/, sql.slice(0, 60));
  });
});
