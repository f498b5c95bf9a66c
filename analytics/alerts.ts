/**
 * Alert rules (analytics.alertsFile, JSON) evaluated on a timer against the store and the
 * ingest pipeline. A rule fires per stream for per-stream metrics, once for pipeline metrics;
 * each change of state (firing, resolved) is handed to `notify` (log, admins over WebSocket,
 * webhook). Metrics:
 *   per stream (events of the last windowSec): rebuffer_pct, failure_pct, ebvs_pct,
 *     startup_p95_ms, errors_per_min
 *   pipeline: ingest_lag_p99_ms, backlog_pct, store_down (1 when inserts fail)
 */
import { readFileSync } from "node:fs";
import type { AnalyticsStore } from "./store-contract.js";

export const STREAM_METRICS = ["rebuffer_pct", "failure_pct", "ebvs_pct", "startup_p95_ms", "errors_per_min"] as const;
export const PIPELINE_METRICS = ["ingest_lag_p99_ms", "backlog_pct", "store_down"] as const;
type Metric = (typeof STREAM_METRICS)[number] | (typeof PIPELINE_METRICS)[number];

export interface AlertRule {
  name: string;
  metric: Metric;
  op: ">" | "<";
  threshold: number;
  windowSec: number;
  severity: "info" | "warning" | "critical";
}

export interface Alert {
  rule: string;
  severity: AlertRule["severity"];
  state: "firing" | "resolved";
  metric: Metric;
  stream: string;
  value: number;
  threshold: number;
  at: number;
}

export type PipelineValues = Record<(typeof PIPELINE_METRICS)[number], number>;

const ALL = new Set<string>([...STREAM_METRICS, ...PIPELINE_METRICS]);

/** Reads and checks the rules file; a bad rule is an error naming it (the node does not start). */
export function loadRules(file: string): AlertRule[] {
  const doc = JSON.parse(readFileSync(file, "utf8")) as { rules?: unknown };
  if (!Array.isArray(doc.rules)) throw new Error(`${file}: "rules" must be an array`);
  return doc.rules.map((r: unknown, i) => checkRule(r, `${file} rule ${i}`));
}

function checkRule(r: unknown, where: string): AlertRule {
  const o = (typeof r === "object" && r !== null ? r : {}) as Record<string, unknown>;
  const ok =
    typeof o.name === "string" &&
    typeof o.metric === "string" &&
    ALL.has(o.metric) &&
    (o.op === ">" || o.op === "<") &&
    typeof o.threshold === "number" &&
    typeof o.windowSec === "number" &&
    o.windowSec >= 10 &&
    o.windowSec <= 86400 &&
    (o.severity === "info" || o.severity === "warning" || o.severity === "critical");
  if (!ok) throw new Error(`${where}: needs name, metric (${[...ALL].join("|")}), op (> or <), threshold, windowSec (10..86400), severity (info|warning|critical)`);
  return o as unknown as AlertRule;
}

/** The per-stream metrics over the last `windowSec`, straight from the events table. */
export function streamMetricsSql(windowSec: number, now = Date.now()): string {
  const from = now - windowSec * 1000;
  const played = "type IN ('heartbeat', 'view.end')";
  return `SELECT stream_id,
  if(sumIf(watched_ms, ${played}) = 0, 0, 100 * sumIf(duration_ms, type = 'buffer.end') / sumIf(watched_ms, ${played})) AS rebuffer_pct,
  if(uniqExactIf(view_id, view_id != '') = 0, 0, 100 * uniqExactIf(view_id, type = 'error' AND fatal = 1) / uniqExactIf(view_id, view_id != '')) AS failure_pct,
  if(uniqExactIf(view_id, view_id != '') = 0, 0, 100 * uniqExactIf(view_id, type = 'view.end' AND started = 0) / uniqExactIf(view_id, view_id != '')) AS ebvs_pct,
  if(countIf(type = 'startup') = 0, 0, quantileExactIf(0.95)(duration_ms, type = 'startup')) AS startup_p95_ms,
  countIf(type = 'error') * 60 / ${windowSec} AS errors_per_min
FROM events
WHERE ts >= toDateTime(${Math.floor(from / 1000)}) AND server_ms >= ${from} AND stream_id != ''
GROUP BY stream_id`;
}

export class AlertEvaluator {
  readonly #rules: AlertRule[];
  readonly #store: AnalyticsStore;
  readonly #firing = new Map<string, Alert>();
  /** The per-stream rows of the last round, by window: the QoE gauges reuse them. */
  readonly latest = new Map<number, Record<string, number | string>[]>();

  constructor(rules: AlertRule[], store: AnalyticsStore) {
    this.#rules = rules;
    this.#store = store;
  }

  get firing(): Alert[] {
    return [...this.#firing.values()];
  }

  /** One round: returns the alerts whose state changed. */
  async evaluate(pipeline: PipelineValues): Promise<Alert[]> {
    const values = new Map<string, number>(); // `${rule}\u0000${stream}` -> value
    const windows = [...new Set(this.#rules.filter((r) => isStream(r.metric)).map((r) => r.windowSec))];
    for (const w of windows) {
      const rows = await this.#store.rows<Record<string, number | string>>(streamMetricsSql(w)).catch(() => []);
      this.latest.set(w, rows);
      for (const rule of this.#rules.filter((r) => r.windowSec === w && isStream(r.metric))) {
        for (const row of rows) values.set(`${rule.name}\u0000${String(row.stream_id)}`, Number(row[rule.metric]));
      }
    }
    for (const rule of this.#rules.filter((r) => !isStream(r.metric))) values.set(`${rule.name}\u0000`, pipeline[rule.metric as keyof PipelineValues]);
    return this.#transitions(values);
  }

  #transitions(values: Map<string, number>): Alert[] {
    const changed: Alert[] = [];
    const now = Date.now();
    for (const [key, value] of values) {
      const [name = "", stream = ""] = key.split("\u0000");
      const rule = this.#rules.find((r) => r.name === name);
      if (!rule) continue;
      const over = rule.op === ">" ? value > rule.threshold : value < rule.threshold;
      if (over && !this.#firing.has(key)) {
        const a: Alert = { rule: rule.name, severity: rule.severity, state: "firing", metric: rule.metric, stream, value, threshold: rule.threshold, at: now };
        this.#firing.set(key, a);
        changed.push(a);
      } else if (!over && this.#firing.has(key)) changed.push(this.#resolve(key, value, now));
    }
    // A stream with no events in the window any more is resolved too.
    for (const key of [...this.#firing.keys()]) if (!values.has(key)) changed.push(this.#resolve(key, 0, now));
    return changed;
  }

  #resolve(key: string, value: number, at: number): Alert {
    const a = this.#firing.get(key);
    this.#firing.delete(key);
    return { ...(a as Alert), state: "resolved", value, at };
  }
}

const isStream = (m: Metric) => (STREAM_METRICS as readonly string[]).includes(m);
