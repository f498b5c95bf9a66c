/**
 * Moleculer trace exporter speaking OpenTelemetry: spans go in batches as OTLP/HTTP JSON to
 * `<url>/v1/traces` (an OpenTelemetry Collector, Jaeger >= 1.35, Tempo, ...).
 * Ids: a Moleculer trace id (the request id; a UUID or 32 hex chars) becomes the 32-hex
 * OTLP trace id by dropping dashes, so the `trace_id` in our logs (lib/logging.ts) and the one
 * a tracing UI shows match after the same step. Span ids are the first 16 hex chars of theirs.
 * Bounded: at most `maxQueue` spans wait; beyond it new spans are dropped and counted. A
 * collector that is down costs one warning per minute, never a crash or unbounded memory.
 */
import { hexId } from "./logging.js";
import { TracerExporters, type Span, type Tracer } from "moleculer";

export interface OtlpOptions {
  url: string;
  serviceName?: string;
  intervalMs?: number;
  maxQueue?: number;
  maxBatch?: number;
}

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };


/** The OTLP trace id of a Moleculer trace / request id (what `trace_id` in the logs maps to). */
export const otlpTraceId = (id: string): string => hexId(id, 32);

function value(v: unknown): AnyValue {
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "number") return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: typeof v === "string" ? v : JSON.stringify(v) };
}

const nanos = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

export class OtlpExporter extends TracerExporters.Base {
  readonly #o: Required<OtlpOptions>;
  #queue: Record<string, unknown>[] = [];
  #timer?: NodeJS.Timeout;
  #lastWarn = 0;
  dropped = 0;
  exported = 0;

  constructor(o: OtlpOptions) {
    super({});
    this.#o = { serviceName: "echostreamhub", intervalMs: 2000, maxQueue: 20_000, maxBatch: 2000, ...o };
  }

  #nodeId = "";

  override init(tracer: Tracer): void {
    super.init(tracer);
    this.#nodeId = tracer.broker.nodeID;
    this.#timer = setInterval(() => void this.flush(), this.#o.intervalMs);
    this.#timer.unref();
  }

  override spanFinished(span: Span): void {
    if (this.#queue.length >= this.#o.maxQueue) {
      this.dropped++;
      return;
    }
    this.#queue.push(this.#toOtlp(span));
  }

  #toOtlp(span: Span): Record<string, unknown> {
    const tags = this.flattenTags(span.tags) as Record<string, unknown>;
    const attributes = Object.entries(tags)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([key, v]) => ({ key, value: value(v) }));
    if (span.service?.name) attributes.push({ key: "moleculer.service", value: value(span.service.name) });
    const start = span.startTime ?? Date.now();
    return {
      traceId: otlpTraceId(span.traceID),
      spanId: hexId(span.id, 16),
      ...(span.parentID ? { parentSpanId: hexId(span.parentID, 16) } : {}),
      name: span.name,
      kind: span.parentID ? 1 : 2, // INTERNAL inside a trace, SERVER at its root
      startTimeUnixNano: nanos(start),
      endTimeUnixNano: nanos(span.finishTime ?? start + (span.duration ?? 0)),
      attributes,
      status: span.error ? { code: 2, message: span.error.message } : { code: 1 },
    };
  }

  async flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const spans = this.#queue.splice(0, this.#o.maxBatch);
      const body = {
        resourceSpans: [
          {
            resource: { attributes: [{ key: "service.name", value: value(this.#o.serviceName) }, { key: "service.instance.id", value: value(this.#nodeId) }] },
            scopeSpans: [{ scope: { name: "echostreamhub", version: "0.1.0" }, spans }],
          },
        ],
      };
      try {
        const res = await fetch(`${this.#o.url.replace(/\/$/, "")}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        this.exported += spans.length;
      } catch (err) {
        this.dropped += spans.length;
        if (Date.now() - this.#lastWarn > 60_000) {
          this.#lastWarn = Date.now();
          this.logger.warn(`tracing: OTLP export to ${this.#o.url} failed (${err instanceof Error ? err.message : String(err)}); ${this.dropped} spans dropped so far`);
        }
        return;
      }
    }
  }

  /** Called by the tracer when the broker stops: the last spans go out. */
  stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    return this.flush();
  }
}
