/**
 * The first line of defence for the admin query endpoint and `npm run sql`: one SELECT (or
 * WITH ... SELECT) over the analytics tables, nothing else. The store adds the second line
 * (readonly = 1, time, memory and row limits), so a query this lets through still cannot write.
 *
 * Checked on the text with string literals and comments blanked out:
 *   - one statement (a single trailing `;` is dropped);
 *   - it starts with SELECT or WITH, and no write, DDL or session keyword appears anywhere;
 *   - every FROM/JOIN names a readable table (READABLE_TABLES), a WITH alias or a subquery;
 *   - no table functions (file, url, remote, s3, ...), no system or information_schema tables.
 */
import { AppError } from "../lib/errors.js";
import { READABLE_TABLES } from "./schema.js";

export const MAX_SQL_LENGTH = 10_000;

const FORBIDDEN_WORDS = [
  "INSERT", "ALTER", "CREATE", "DROP", "TRUNCATE", "RENAME", "ATTACH", "DETACH", "OPTIMIZE", "KILL", "SYSTEM", "GRANT",
  "REVOKE", "SET", "SETTINGS", "FORMAT", "INTO", "OUTFILE", "DELETE", "UPDATE", "EXCHANGE", "USE", "BACKUP", "RESTORE",
  "INFORMATION_SCHEMA", "INFILE", "EXPLAIN", "DESCRIBE", "SHOW",
];
const TABLE_FUNCTIONS = [
  "file", "url", "urlCluster", "remote", "remoteSecure", "cluster", "clusterAllReplicas", "s3", "s3Cluster", "gcs", "hdfs", "input",
  "mysql", "postgresql", "jdbc", "odbc", "executable", "merge", "numbers", "numbers_mt", "generateRandom", "zeros", "zeros_mt",
  "view", "dictionary", "azureBlobStorage", "iceberg", "deltaLake", "hudi", "mongodb", "redis", "sqlite", "fuzzJSON", "loop", "null",
  "fileCluster", "viewIfPermitted", "mergeTreeIndex", "arrowFlight", "ytsaurus", "paimon", "prometheusQuery", "timeSeriesData",
];
const FORBIDDEN_RE = new RegExp(`\\b(${FORBIDDEN_WORDS.join("|")})\\b`, "i");
const TABLE_FN_RE = new RegExp(`\\b(${TABLE_FUNCTIONS.join("|")})\\s*\\(`, "i");
const READABLE = new Set(READABLE_TABLES.map((t) => t.toLowerCase()));

/** Returns the statement to run (trailing `;` removed) or throws BAD_REQUEST saying why. */
export function checkAnalystSql(sql: unknown): string {
  if (typeof sql !== "string" || sql.trim() === "") throw refuse("sql must be a non-empty string");
  if (sql.length > MAX_SQL_LENGTH) throw refuse(`sql is over ${MAX_SQL_LENGTH} characters`);
  if (sql.includes("\0")) throw refuse("sql contains a NUL byte");
  const statement = sql.trim().replace(/;\s*$/, "");
  const bare = blank(statement);
  if (bare.includes(";")) throw refuse("one statement only");
  if (!/^\s*(\(\s*)*(SELECT|WITH)\b/i.test(bare)) throw refuse("only SELECT (or WITH ... SELECT) queries are allowed");
  const word = FORBIDDEN_RE.exec(bare);
  if (word) throw refuse(`"${word[1]}" is not allowed in read-only queries`);
  const fn = TABLE_FN_RE.exec(bare);
  if (fn) throw refuse(`table function "${fn[1]}" is not allowed`);
  checkTables(bare);
  return statement;
}

/** Every table a FROM or JOIN names (comma lists included, at any depth) must be a readable
 *  table or a WITH alias; a `(` starts a subquery, which is checked the same way. */
function checkTables(bare: string): void {
  const aliases = new Set([...bare.matchAll(/\b([A-Za-z_]\w*)\s+AS\s*\(/gi)].map((m) => (m[1] ?? "").toLowerCase()));
  const tokens = bare.match(/[A-Za-z_][\w.]*|`[^`]*`|"[^"]*"|[(),]|[^\sA-Za-z_(),`"]+/g) ?? [];
  // At each depth: are we in a FROM list, and does its next item name a table?
  const inFrom: boolean[] = [false];
  let expectTable = false;
  for (const tok of tokens) {
    const up = tok.toUpperCase();
    if (tok === "(") {
      inFrom.push(false);
      expectTable = false;
    } else if (tok === ")") {
      inFrom.pop();
      if (inFrom.length === 0) throw refuse("unbalanced parentheses");
    } else if (up === "FROM" || up === "JOIN") {
      inFrom[inFrom.length - 1] = true;
      expectTable = true;
    } else if (tok === "," && inFrom[inFrom.length - 1]) {
      expectTable = true;
    } else if (CLAUSE_END.has(up)) {
      inFrom[inFrom.length - 1] = false;
      expectTable = false;
    } else if (expectTable) {
      expectTable = false;
      checkTable(tok.replace(/[`"]/g, ""), aliases);
    }
  }
}

const CLAUSE_END = new Set(["WHERE", "PREWHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "UNION", "ON", "USING", "SAMPLE", "FINAL", "ARRAY", "SELECT", "WINDOW", "QUALIFY", "INTERSECT", "EXCEPT"]);

function checkTable(name: string, aliases: Set<string>): void {
  const lower = name.toLowerCase();
  if (lower.includes(".")) throw refuse(`"${name}": name a table without its database`);
  if (!READABLE.has(lower) && !aliases.has(lower)) throw refuse(`table "${name}" is not readable; tables: ${READABLE_TABLES.join(", ")}`);
}

/** The text with comments and string literals replaced by blanks (quoted identifiers stay).
 *  One pass, so a `--` inside a string or a quote inside a comment cannot confuse it. */
function blank(sql: string): string {
  let out = "";
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
      out += " ";
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 1;
      out += " ";
    } else if (c === "'") {
      i = skipString(sql, i);
      out += "''";
    } else out += c ?? "";
  }
  return out;
}

/** Index of the quote closing the string literal opened at `start` (backslash and '' escapes). */
function skipString(sql: string, start: number): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === "\\") i++;
    else if (sql[i] === "'") {
      if (sql[i + 1] === "'") i++;
      else return i;
    }
  }
  throw refuse("unterminated string literal");
}

function refuse(why: string): AppError {
  return new AppError("BAD_REQUEST", `Query refused: ${why}`, { reason: why });
}
