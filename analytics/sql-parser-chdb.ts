/**
 * ClickHouse's own SQL front end, from chdb (always installed): the analyst-query guard asks it
 * to parse, tokenize and explain, never to run the analyst's text. The text only travels as a
 * bound parameter ({q:String}) or, once known to be one SELECT, after `EXPLAIN AST` (which runs
 * every statement after a `;` — hence the single-statement check comes first).
 *
 * One chdb engine per process: the embedded store passes its Session; a process on the server
 * backend has none and uses chdb's stateless API.
 */
import type { ChdbResult, Session } from "chdb";
import type { SqlParser } from "./sql-guard.js";

export function chdbParser(session?: Session): SqlParser {
  // Stateless chdb is loaded on first use: a node on the server backend pays for it only if an
  // analyst asks.
  const bind = async (expr: string, sql: string): Promise<ChdbResult> => (session ? session.queryBindAsync(expr, { q: sql }, { format: "TSVRaw" }) : (await import("chdb")).queryBindAsync(expr, { q: sql }, { format: "TSVRaw" }));
  const run = async (sql: string): Promise<ChdbResult> => (session ? session.queryAsync(sql, { format: "TSVRaw" }) : (await import("chdb")).queryAsync(sql, { format: "TSVRaw" }));
  return {
    format: async (sql) => (await bind("SELECT formatQuerySingleLine({q:String})", sql)).text().replace(/\n$/, ""),
    tokens: async (sql) => (await bind("SELECT tokenizeQuery({q:String})", sql)).text(),
    explainAst: async (statement) => (await run(`EXPLAIN AST ${statement}`)).text(),
    functions: async () => (await run("SELECT name, alias_to, categories, is_aggregate FROM system.functions")).text(),
  };
}
