/**
 * Prometheus text exposition of the broker's metric registry (Moleculer's own request,
 * event and process metrics, plus the gateway's), served at GET /metrics.
 * Written to pass `promtool check metrics` (test/deploy.test.ts): snake_case label names
 * (Moleculer's `nodeID` becomes `node_id`), HELP on every metric, `_total` on counters only.
 */
import type { ServiceBroker } from "moleculer";

interface MetricValue {
  labels?: Record<string, unknown>;
  value?: number;
  count?: number;
  sum?: number;
  buckets?: Record<string, number>;
}

interface MetricSnapshot {
  name: string;
  type: string;
  description?: string;
  values: MetricValue[];
}

const metricName = (n: string): string => n.replace(/[^a-zA-Z0-9_]/g, "_");
const labelName = (n: string): string => metricName(n).replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

/** Counters end in _total; other kinds must not (Moleculer names a few gauges *.total). */
function exposedName(m: MetricSnapshot, type: string): string {
  const base = metricName(m.name);
  if (type === "counter") return base.endsWith("_total") ? base : `${base}_total`;
  return base.endsWith("_total") ? base.slice(0, -"_total".length) : base;
}
const esc = (v: unknown): string => String(v).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

function labelStr(labels: Record<string, unknown> | undefined, extra: Record<string, string> = {}): string {
  const all = { ...(labels ?? {}), ...extra };
  const parts = Object.entries(all)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${labelName(k)}="${esc(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export function prometheusText(broker: ServiceBroker): string {
  const list = (broker.metrics as unknown as { list(): MetricSnapshot[] }).list(); // typed loosely in moleculer's d.ts
  const node = { nodeID: broker.nodeID };
  const out: string[] = [];
  for (const m of list) {
    const type = m.type === "histogram" ? "histogram" : m.type === "counter" ? "counter" : "gauge";
    const name = exposedName(m, type);
    out.push(`# HELP ${name} ${(m.description ?? m.name).replace(/\n/g, " ")}`);
    out.push(`# TYPE ${name} ${type}`);
    for (const v of m.values) {
      if (type === "histogram") {
        for (const [le, count] of Object.entries(v.buckets ?? {})) out.push(`${name}_bucket${labelStr(v.labels, { ...node, le })} ${count}`);
        out.push(`${name}_bucket${labelStr(v.labels, { ...node, le: "+Inf" })} ${v.count ?? 0}`);
        out.push(`${name}_sum${labelStr(v.labels, node)} ${v.sum ?? 0}`);
        out.push(`${name}_count${labelStr(v.labels, node)} ${v.count ?? 0}`);
      } else if (typeof v.value === "number" && Number.isFinite(v.value)) {
        out.push(`${name}${labelStr(v.labels, node)} ${v.value}`);
      }
    }
  }
  return out.join("\n") + "\n";
}
