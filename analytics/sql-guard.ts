/**
 * The analyst-query guard (admin endpoint and `npm run sql`): one SELECT (WITH ... SELECT, or an
 * EXPLAIN of one) over the analytics tables and views, nothing else. SQL is never parsed here by
 * hand: ClickHouse's own front end (chdb, SqlParser) formats, tokenizes and explains it, and this
 * module judges ClickHouse's AST. The statement that runs is ClickHouse's formatting of the text,
 * not the text itself, so no comment or quoting trick can mean one thing to the guard and another
 * to the server (an older server lexes nested comments differently).
 *
 * Allowed, judged on the AST:
 *   - the root is a SELECT (or EXPLAIN of one) with no FORMAT, INTO OUTFILE or SETTINGS anywhere;
 *   - every table read (FROM, JOIN, `x IN t`) is a readable table or a CTE of the query, never a
 *     dotted (database.table) name, never a table function;
 *   - every function is known to this ClickHouse and allowed: deny by default, allowed by its
 *     documented category (arithmetic, dates, strings, arrays, aggregates, ...) plus a short list
 *     of harmless ones from "Other". A function a new ClickHouse adds is refused until listed.
 * Second line: the store runs it with readonly = 1 and time, memory and row limits.
 */
import { AppError } from "../lib/errors.js";
import { READABLE_TABLES } from "./schema.js";

export const MAX_SQL_LENGTH = 10_000;

/** ClickHouse's SQL front end (analytics/sql-parser-chdb.ts). Answers are TSVRaw text. */
export interface SqlParser {
  /** formatQuerySingleLine of the text, passed as a bound parameter: throws ClickHouse's syntax
   *  error, including for more than one statement. */
  format(sql: string): Promise<string>;
  /** tokenizeQuery of the text (bound parameter): `[(start,end,'Type'),...]`, byte offsets. */
  tokens(sql: string): Promise<string>;
  /** EXPLAIN AST of one statement (already formatted by `format`). */
  explainAst(statement: string): Promise<string>;
  /** system.functions: name, alias_to, categories, is_aggregate (tab separated lines). */
  functions(): Promise<string>;
}

/** Function categories (system.functions.categories) that compute on their arguments only. */
const SAFE_CATEGORIES = new Set([
  "Aggregate Functions", "Arithmetic", "Arrays", "Bit", "Bitmap", "Comparison", "Conditional", "Dates and Times", "Distance", "Encoding",
  "Financial", "Geo", "Geo Polygon", "Hash", "IP Address", "JSON", "Logical", "Map", "Mathematical", "Null", "NumericIndexedVector",
  "Random Number", "Rounding", "String", "String Replacement", "String Search", "String Splitting", "Time Window", "Tuple", "Type Conversion",
  "URL", "UUID",
]);
/** From "Other" (where server state, files and settings also live): only these. */
const SAFE_OTHER = new Set([
  "bar", "transform", "identity", "ignore", "materialize", "totypename", "tocolumntypename", "neighbor", "runningdifference",
  "runningdifferencestartingwithfirstvalue", "runningaccumulate", "rownumberinblock", "rownumberinallblocks", "formatreadablesize",
  "formatreadablequantity", "formatreadabledecimalsize", "formatreadabletimedelta", "parsereadablesize", "parsereadablesizeornull",
  "parsereadablesizeorzero", "parsetimedelta", "finalizeaggregation", "initializeaggregation", "isconstant", "visiblewidth", "countdigits",
  "throwif", "macnumtostring", "macstringtonum", "macstringtooui", "bytesize", "isdecimaloverflow", "defaultvalueofargumenttype",
  "defaultvalueoftypename", "getsizeofenumtype", "variantelement", "varianttype", "currentdatabase",
]);
/** Also refused though their category is safe: long sleeps and the like. */
const DENY = new Set(["sleep", "sleepeachrow"]);
/** Names in the AST that are syntax, not functions of system.functions. */
const SYNTAX = new Set(["lambda"]);
/** Aggregate function combinators, longest first (quantilesIf, uniqExactState, sumForEach, ...). */
const COMBINATORS = ["SimpleState", "MergeState", "OrDefault", "Resample", "Distinct", "ForEach", "ArgMin", "ArgMax", "OrNull", "State", "Merge", "Array", "Map", "If"];
/** Functions whose right-hand argument may name a table (`x IN t`). */
const IN_FUNCTIONS = new Set(["in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin", "globalnotnullin"]);
/** Table names are case-sensitive in ClickHouse: compared as written. */
const READABLE = new Set(READABLE_TABLES);
/** A table or CTE name the guard accepts at all: a plain identifier (chdb's default database
 *  also reads host files by path: `/etc/...` must never reach it). */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Functions that take another function's name as a string ('quantile(0.5)'): that name is judged too. */
const BY_NAME = new Set(["arrayreduce", "arrayreduceinranges", "initializeaggregation"]);

interface Fn {
  aliasTo: string;
  categories: string;
  aggregate: boolean;
}

interface Node {
  kind: string;
  /** The label after the kind, without `(alias ...)` and `(children N)`. */
  name: string;
  declared: number;
  children: Node[];
}

export class SqlGuard {
  readonly #parser: SqlParser;
  readonly #tables: () => Promise<string[]>;
  #functions: Promise<Map<string, Fn>> | undefined;

  /** `tables`: every table and view of the analytics database (readable or not). */
  constructor(parser: SqlParser, tables: () => Promise<string[]>) {
    this.#parser = parser;
    this.#tables = tables;
  }

  /** The statement to run (ClickHouse's formatting of the text), or BAD_REQUEST saying why. */
  async vet(sql: unknown): Promise<string> {
    if (typeof sql !== "string" || sql.trim() === "") throw refuse("sql must be a non-empty string");
    if (sql.length > MAX_SQL_LENGTH) throw refuse(`sql is over ${MAX_SQL_LENGTH} characters`);
    if (sql.includes("\0")) throw refuse("sql contains a NUL byte");
    const statement = await this.#parser.format(sql).catch((err: unknown) => {
      throw refuse(`ClickHouse cannot parse it as one statement: ${clickhouseMessage(err)}`);
    });
    const tokens = parseTokens(await this.#parser.tokens(sql), sql);
    // Escapes are decoded by ClickHouse (`\n`, `\x..`): a quoted name may hold neither them nor control characters.
    if (tokens.some((t) => t.type === "QuotedIdentifier" && /[\p{Cc}\\]/u.test(t.text))) throw refuse("a quoted name contains a control character or an escape");
    // The text itself must say what it is: chdb would run a bare expression (`file('x')`) as a SELECT.
    const first = tokens[0]?.text ?? "";
    if (!/^(SELECT|WITH|EXPLAIN|\()$/i.test(first) || !/^(SELECT|WITH|EXPLAIN)\b|^\(/i.test(statement)) throw refuse("only SELECT (or WITH ... SELECT, or EXPLAIN of one) is allowed");
    const root = parseDump(await this.#parser.explainAst(statement).catch((err: unknown) => {
      throw refuse(clickhouseMessage(err));
    }));
    await this.#check(root, cteNames(tokens));
    return statement;
  }

  async #check(root: Node, ctes: Set<string>): Promise<void> {
    let query = root;
    if (root.kind === "Explain") {
      if (root.children.length !== 1) throw refuse("EXPLAIN takes no settings here");
      query = root.children[0] as Node;
    }
    if (query.kind !== "SelectWithUnionQuery") throw refuse(`only SELECT is allowed, not ${query.kind}`);
    const [functions, tables] = await Promise.all([this.#fns(), this.#tables()]);
    const existing = new Set(tables.map((t) => t.toLowerCase()));
    const tableOk = (name: string): boolean => {
      if (!PLAIN_NAME.test(name)) return false;
      if (READABLE.has(name)) return true;
      return ctes.has(name) && !existing.has(name.toLowerCase()); // a top-level CTE that does not shadow a real table
    };
    const visit = (n: Node, parent: Node | undefined): void => {
      if (n.declared !== n.children.length) throw refuse("the query's structure could not be read safely");
      if (n.kind === "Set") throw refuse("SETTINGS are not allowed (limits are the server's)");
      if (n.kind === "SelectWithUnionQuery" && n.children.length !== 1) throw refuse("FORMAT and INTO OUTFILE are not allowed");
      if (n.kind === "Explain" || n.kind === "QueryParameter") throw refuse(`${n.kind} is not allowed here`);
      if (n.kind === "TableIdentifier" && !tableOk(n.name)) throw refuse(tableWhy(n.name));
      if (n.kind === "Function") {
        if (parent?.kind === "TableExpression") throw refuse(`table function ${n.name}() is not allowed`);
        checkFunction(n.name, functions);
        if (BY_NAME.has(n.name.toLowerCase())) {
          const first = n.children[0]?.children[0];
          const named = first?.kind === "Literal" ? /^'([A-Za-z_][A-Za-z0-9_]*)(\(.*\))?'$/.exec(first.name)?.[1] : undefined;
          if (named === undefined) throw refuse(`${n.name}() takes the name of an aggregate function as a plain string literal`);
          checkFunction(named, functions);
        }
        if (IN_FUNCTIONS.has(n.name.toLowerCase())) {
          const right = n.children[0]?.children[1];
          if (right?.kind === "Identifier" && !tableOk(right.name)) throw refuse(`IN ${right.name}: ${tableWhy(right.name)}`);
        }
      }
      for (const c of n.children) visit(c, n);
    };
    visit(query, undefined);
  }

  #fns(): Promise<Map<string, Fn>> {
    this.#functions ??= this.#parser.functions().then((text) => {
      const m = new Map<string, Fn>();
      for (const line of text.split("\n")) {
        const [name = "", aliasTo = "", categories = "", aggregate = "0"] = line.split("\t");
        if (name) m.set(name.toLowerCase(), { aliasTo: aliasTo.toLowerCase(), categories, aggregate: aggregate === "1" });
      }
      return m;
    });
    this.#functions.catch(() => (this.#functions = undefined));
    return this.#functions;
  }
}

function tableWhy(name: string): string {
  if (name.includes(".")) return `"${name}": name a table without a database (only the analytics database is readable)`;
  if (!PLAIN_NAME.test(name)) return `"${name}": tables are named with letters, digits and _ only`;
  return `table "${name}" is not readable; tables: ${READABLE_TABLES.join(", ")}`;
}

/** Deny by default: known to this ClickHouse, in a safe category (after aliases and aggregate
 *  combinators are resolved), and not one of the few refused anyway. */
function checkFunction(name: string, functions: Map<string, Fn>): void {
  const lower = name.toLowerCase();
  if (SYNTAX.has(lower)) return;
  const resolve = (n: string): [string, Fn] | undefined => {
    const f = functions.get(n);
    if (!f) return undefined;
    const target = f.aliasTo ? functions.get(f.aliasTo) : f;
    return target ? [f.aliasTo || n, target] : undefined;
  };
  let found = resolve(lower);
  for (let base = name; !found; ) {
    const c = COMBINATORS.find((suffix) => base.length > suffix.length && base.endsWith(suffix));
    if (!c) break;
    base = base.slice(0, -c.length);
    const r = resolve(base.toLowerCase());
    if (r?.[1].aggregate) found = r;
  }
  if (!found) throw refuse(`function ${name}() is unknown or not allowed`);
  const [real, f] = found;
  const safe = !DENY.has(real) && (SAFE_OTHER.has(real) || f.categories.split(",").map((c) => c.trim()).every((c) => SAFE_CATEGORIES.has(c)) && f.categories !== "");
  if (!safe) throw refuse(`function ${name}() is not allowed in analyst queries (it reads server state, files or settings, or is not vetted)`);
}

interface Token {
  type: string;
  text: string;
}

/** tokenizeQuery's answer as tokens, whitespace and comments dropped (offsets are UTF-8 bytes). */
function parseTokens(answer: string, sql: string): Token[] {
  const bytes = Buffer.from(sql, "utf8");
  const out: Token[] = [];
  for (const m of answer.matchAll(/\((\d+),(\d+),'(\w+)'\)/g)) {
    const type = m[3] ?? "";
    if (type === "Whitespace" || type === "Comment") continue;
    out.push({ type, text: bytes.subarray(Number(m[1]), Number(m[2])).toString("utf8") });
  }
  return out;
}

/** Names declared as `name AS (` in the top-level WITH list (the AST does not name CTEs). A CTE
 *  declared inside a subquery is not visible outside it, so only top-level ones may stand for a
 *  table anywhere in the query. */
function cteNames(tokens: Token[]): Set<string> {
  const names = new Set<string>();
  const clause: (string | undefined)[] = [];
  let depth = 0;
  tokens.forEach((t, i) => {
    if (t.type === "OpeningRoundBracket") clause[++depth] = undefined;
    else if (t.type === "ClosingRoundBracket") depth--;
    else if (t.type === "BareWord" && /^(WITH|SELECT|FROM|WHERE|PREWHERE|GROUP|HAVING|WINDOW|QUALIFY|ORDER|LIMIT|UNION|EXCEPT|INTERSECT|ARRAY|JOIN|SETTINGS)$/i.test(t.text)) clause[depth] = t.text.toUpperCase();
    const next = tokens[i + 1];
    if (depth === 0 && clause[depth] === "WITH" && (t.type === "BareWord" || t.type === "QuotedIdentifier") && next?.text.toUpperCase() === "AS" && tokens[i + 2]?.type === "OpeningRoundBracket") {
      names.add(t.type === "QuotedIdentifier" ? t.text.slice(1, -1) : t.text);
    }
  });
  return names;
}

/** EXPLAIN AST's dump (one node a line, one space of indent a level) as a tree. */
function parseDump(dump: string): Node {
  const stack: { node: Node; indent: number }[] = [];
  let root: Node | undefined;
  for (const line of dump.replace(/\n$/, "").split("\n")) {
    const indent = line.length - line.trimStart().length;
    const label = line.trim();
    const declared = Number(/ \(children (\d+)\)$/.exec(label)?.[1] ?? 0);
    const bare = label.replace(/ \(children \d+\)$/, "").replace(/ \(alias .*\)$/s, "");
    const space = bare.indexOf(" ");
    const node: Node = { kind: space < 0 ? bare : bare.slice(0, space), name: space < 0 ? "" : bare.slice(space + 1), declared, children: [] };
    while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? 0) >= indent) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent) parent.node.children.push(node);
    else if (!root) root = node;
    else throw refuse("the query's structure could not be read safely");
    stack.push({ node, indent });
  }
  if (!root) throw refuse("ClickHouse returned no syntax tree");
  return root;
}

/** ClickHouse's message without its code prefix, stack or the text echoed back. */
function clickhouseMessage(err: unknown): string {
  const first = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
  return first.replace(/^Code: \d+\. DB::Exception: /, "").replace(/ : In scope SELECT formatQuerySingleLine\(.*$/s, "").replace(/\s*\(version [^)]*\)/, "").slice(0, 300);
}

function refuse(why: string): AppError {
  return new AppError("BAD_REQUEST", `Query refused: ${why}`, { reason: why });
}
