/**
 * Structured logs for every node: one JSON object per line (or the short text form on a
 * terminal), in three categories an operator can route apart:
 *   - security:    logins, failed authentication, permission denials, rate-limit hits
 *                  (write them with `securityEvent`, logger module "security");
 *   - streaming:   the media, encoders and streams actors (and their modules);
 *   - application: everything else.
 * Every line written inside a traced request carries its `trace_id` and `span_id` (the
 * Moleculer request id = the OpenTelemetry trace id, see lib/otlp-exporter.ts), taken from an
 * AsyncLocalStorage that the TraceContext middleware and the gateway fill.
 * Nothing secret reaches a line: values under secret-looking keys are replaced, and bearer
 * tokens, JWTs and signed-URL signatures inside strings are masked (`redact`).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import type { Context, LoggerBindings, LoggerInstance, Middleware, ServiceBroker } from "moleculer";

export const LOG_FORMATS = ["auto", "json", "text"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogCategory = "application" | "streaming" | "security";

export interface TraceIds {
  traceId: string;
  spanId?: string;
}

/** The trace of the work running now (set per action, event handler and gateway request). */
export const traceContext = new AsyncLocalStorage<TraceIds>();

/**
 * Trace context costs: on Node 20 the first AsyncLocalStorage.run turns on promise hooks for
 * the whole process, which cut in-process request throughput by about a third (bench rpc,
 * docs/operations.md). So it is on only where traces are exported (moleculer.config.ts);
 * without it, lines carry no trace ids except the security events, which add theirs.
 */
let traceContextOn = false;

export function enableTraceContext(): void {
  traceContextOn = true;
}

/** Runs `fn` inside the trace `ids` when trace context is on; otherwise just runs it. */
export function withTrace<T>(ids: TraceIds | (() => TraceIds), fn: () => T): T {
  if (!traceContextOn) return fn();
  return traceContext.run(typeof ids === "function" ? ids() : ids, fn);
}

const STREAMING = new Set(["media", "encoders", "streams", "media-node", "live-hls", "encoder"]);

/** A fresh trace id: 32 hex chars, the W3C / OpenTelemetry form. */
export const newTraceId = (): string => randomBytes(16).toString("hex");

/** A Moleculer id (UUID or hex) in the OpenTelemetry form: `len` lowercase hex chars. */
export function hexId(id: string | null | undefined, len: 16 | 32): string {
  const h = (id ?? "").toLowerCase().replace(/[^0-9a-f]/g, "");
  return h.length >= len ? h.slice(0, len) : h.padStart(len, "0");
}

export function categoryOf(b: Partial<LoggerBindings> | undefined): LogCategory {
  const mod = (b?.mod ?? "").toLowerCase();
  if (mod === "security") return "security";
  const svc = (b?.svc ?? mod).toLowerCase();
  return STREAMING.has(svc) || STREAMING.has(mod) ? "streaming" : "application";
}

const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|signature|^sig$|private|credential|^key$|apikey/i;
const JWT = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g;
const BEARER = /\b(bearer)\s+[\w.~+/=-]+/gi;
const URL_SECRET = /([?&](?:token|sig|signature|access_token|refresh_token|password)=)[^&\s"]+/gi;

export function redactString(s: string): string {
  return s.replace(JWT, "[jwt]").replace(BEARER, "$1 [redacted]").replace(URL_SECRET, "$1[redacted]");
}

/** A copy of `v` with secrets masked; depth-limited, cycles cut. */
export function redact(v: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof v === "string") return redactString(v);
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Error) return { name: v.name, message: redactString(v.message), code: (v as { code?: unknown }).code, stack: v.stack ? redactString(v.stack) : undefined };
  if (depth > 6 || seen.has(v)) return "[…]";
  seen.add(v);
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => redact(x, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = SECRET_KEY.test(k) && x !== undefined && typeof x !== "boolean" ? "[redacted]" : redact(x, depth + 1, seen);
  return out;
}

const textOf = (x: unknown): string => (typeof x === "string" ? redactString(x) : JSON.stringify(redact(x)));

/** One JSON line: time, level, category, node, module, message, trace ids, fields. */
export function jsonLine(level: string, args: unknown[], b: Partial<LoggerBindings> | undefined): string {
  const line: Record<string, unknown> = { time: new Date().toISOString(), level, category: categoryOf(b), node: b?.nodeID, module: b?.svc ?? b?.mod };
  const trace = traceContext.getStore();
  if (trace) {
    line.trace_id = trace.traceId;
    if (trace.spanId) line.span_id = trace.spanId;
  }
  const rest = [...args];
  const first = rest[0];
  if (first !== null && typeof first === "object" && !(first instanceof Error) && !Array.isArray(first)) Object.assign(line, redact(rest.shift()));
  const errs = rest.filter((x): x is Error => x instanceof Error);
  line.msg = rest.filter((x) => !(x instanceof Error)).map(textOf).join(" ");
  if (errs[0]) line.err = redact(errs[0]);
  return JSON.stringify(line);
}

/** The short text form, masked the same way: `[12:00:00.000Z] INFO  gateway [trace]: msg`. */
export function textLine(level: string, args: unknown[], b: Partial<LoggerBindings> | undefined): string {
  const trace = traceContext.getStore();
  const where = `${b?.svc ?? b?.mod ?? ""}${trace ? ` ${trace.traceId.slice(0, 8)}` : ""}`;
  const msg = args.map((x) => (x instanceof Error ? redactString(x.stack ?? x.message) : textOf(x))).join(" ");
  return `[${new Date().toISOString().slice(11)}] ${level.toUpperCase().padEnd(5)} ${where}: ${msg}`;
}

export function resolveFormat(f: LogFormat): "json" | "text" {
  return f === "auto" ? (process.stdout.isTTY ? "text" : "json") : f;
}

/** Moleculer Console-logger formatter (function form): returns the printed arguments. */
export function moleculerFormatter(format: LogFormat) {
  const json = resolveFormat(format) === "json";
  return (type: string, args: unknown[], bindings: LoggerBindings): string[] => [json ? jsonLine(type, args, bindings) : textLine(type, args, bindings)];
}

/** Security events: what happened, to whom, from where (category security). */
export type SecurityEventName = "login.ok" | "login.failed" | "register" | "auth.failed" | "permission.denied" | "rate.limited" | "token.reused" | "protocol.abuse";

/**
 * The security log. A flood (one client's 10,000 rate-limited frames) must not become 10,000
 * lines: repeats of one event from one source within `windowMs` are counted, and the next
 * line after the window says how many were folded into it (`repeats`).
 */
export class SecurityLog {
  readonly #log: LoggerInstance;
  readonly #windowMs: number;
  readonly #recent = new Map<string, { at: number; repeats: number; event: SecurityEventName; fields: Record<string, unknown> }>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(log: LoggerInstance, windowMs = 10_000) {
    this.#log = log;
    this.#windowMs = windowMs;
  }

  static of(broker: ServiceBroker): SecurityLog {
    return new SecurityLog(broker.getLogger("security"));
  }

  event(event: SecurityEventName, fields: Record<string, unknown>): void {
    const key = [event, fields.ip, fields.user, fields.code].map((x) => (typeof x === "string" ? x : "")).join("|");
    const seen = this.#recent.get(key);
    if (seen) {
      seen.repeats++;
      return;
    }
    if (this.#recent.size >= 10_000) this.#sweep(true); // bounded under a flood of distinct sources
    this.#recent.set(key, { at: Date.now(), repeats: 0, event, fields });
    this.#write(event, fields);
    this.#sweeper ??= setInterval(() => this.#sweep(false), this.#windowMs).unref();
  }

  #write(event: SecurityEventName, fields: Record<string, unknown>): void {
    const level = event === "login.ok" || event === "register" ? "info" : "warn";
    this.#log[level]({ event, ...fields }, event);
  }

  /** Windows that ended: one summary line for the repeats folded into each, then forgotten. */
  #sweep(all: boolean): void {
    const now = Date.now();
    for (const [key, e] of this.#recent) {
      if (!all && now - e.at < this.#windowMs) continue;
      this.#recent.delete(key);
      if (e.repeats > 0) this.#write(e.event, { ...e.fields, repeats: e.repeats, windowSec: Math.round((now - e.at) / 1000) });
    }
    if (this.#recent.size === 0 && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}

/** Runs every local action and event handler inside its trace (request id, span id). */
export function TraceContextMiddleware(): Middleware {
  enableTraceContext();
  const wrap =
    (next: (ctx: Context) => unknown) =>
    (ctx: Context): unknown =>
      traceContext.run({ traceId: hexId(ctx.requestID ?? ctx.id, 32), spanId: hexId((ctx as { span?: { id: string } }).span?.id ?? ctx.id, 16) }, () => next(ctx));
  return {
    name: "TraceContext",
    localAction: wrap,
    localEvent: wrap,
  } as unknown as Middleware; // moleculer's Middleware d.ts types the hooks loosely
}
