/**
 * The Grafana dashboards, written as data: `npx tsx deploy/grafana/dashboards.ts` regenerates
 * deploy/grafana/dashboards/*.json (Grafana's dashboard JSON, provisioned by
 * deploy/grafana/provisioning). test/deploy.test.ts checks the JSON is current, every query
 * parses as PromQL (promtool) and every metric it reads is one our nodes export.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface PanelSpec {
  title: string;
  /** PromQL, each with its legend. */
  targets: { expr: string; legend: string }[];
  unit?: string;
  kind?: "timeseries" | "stat";
  description?: string;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  panels: PanelSpec[];
}

const rate = (m: string, by = "node_id") => `sum by (${by}) (rate(${m}[1m]))`;
const p95 = (m: string, by = "le") => `histogram_quantile(0.95, sum by (${by}) (rate(${m}_bucket[5m])))`;

export const DASHBOARDS: DashboardSpec[] = [
  {
    uid: "esh-overview",
    title: "Echostreamhub / Cluster",
    description: "Gateways, actors and nodes: connections, requests, errors, backpressure, CPU and memory.",
    panels: [
      { title: "WebSocket connections per gateway", targets: [{ expr: "sum by (node_id) (esh_gateway_ws_connections)", legend: "{{node_id}}" }] },
      { title: "WebSocket messages/s by type", targets: [{ expr: rate("esh_gateway_ws_messages_total", "type"), legend: "{{type}}" }], unit: "ops" },
      { title: "HTTP requests/s by status", targets: [{ expr: rate("esh_gateway_http_requests_total", "status"), legend: "{{status}}" }], unit: "reqps" },
      { title: "HTTP p95 latency", targets: [{ expr: p95("esh_gateway_http_request_time", "le, node_id"), legend: "{{node_id}}" }], unit: "ms" },
      { title: "Refused by code (auth, limits, malformed)", targets: [{ expr: rate("esh_gateway_rejects_total", "code"), legend: "{{code}}" }], unit: "ops" },
      { title: "Backpressure: slow consumers closed/s", targets: [{ expr: 'sum by (node_id) (rate(esh_gateway_rejects_total{code="SLOW_CONSUMER"}[1m]))', legend: "{{node_id}}" }], unit: "ops" },
      { title: "Actor calls/s by action", targets: [{ expr: rate("moleculer_request_total", "action"), legend: "{{action}}" }], unit: "ops" },
      { title: "Actor call p95 by action", targets: [{ expr: p95("moleculer_request_time", "le, action"), legend: "{{action}}" }], unit: "ms" },
      { title: "Actor errors/s", targets: [{ expr: rate("moleculer_request_error_total", "action"), legend: "{{action}}" }], unit: "ops" },
      { title: "Bulkhead queue", targets: [{ expr: "sum by (node_id) (moleculer_request_bulkhead_queue_size)", legend: "{{node_id}}" }] },
      { title: "Nodes online", kind: "stat", targets: [{ expr: "max(moleculer_registry_nodes_online)", legend: "nodes" }] },
      { title: "CPU per node", targets: [{ expr: "max by (node_id) (os_cpu_utilization)", legend: "{{node_id}}" }], unit: "percent" },
      { title: "Memory (RSS) per node", targets: [{ expr: "max by (node_id) (process_memory_rss)", legend: "{{node_id}}" }], unit: "bytes" },
    ],
  },
  {
    uid: "esh-media",
    title: "Echostreamhub / Media and encoding",
    description: "mediasoup nodes (streams, viewers, consumers, broadcast bitrate and loss) and the encoding queue.",
    panels: [
      { title: "Live streams per media node", targets: [{ expr: "sum by (node_id) (esh_media_streams)", legend: "{{node_id}}" }] },
      { title: "WebRTC viewers per media node", targets: [{ expr: "sum by (node_id) (esh_media_viewers)", legend: "{{node_id}}" }] },
      { title: "Consumers per media node", targets: [{ expr: "sum by (node_id) (esh_media_consumers)", legend: "{{node_id}}" }] },
      { title: "Broadcast bitrate by stream and track", targets: [{ expr: "sum by (stream, kind) (esh_media_producer_bitrate)", legend: "{{stream}} {{kind}}" }], unit: "bps" },
      { title: "Broadcast loss (fraction) by stream", targets: [{ expr: "max by (stream, kind) (esh_media_producer_fraction_lost)", legend: "{{stream}} {{kind}}" }], unit: "percentunit" },
      { title: "Broadcast quality score (0..10)", targets: [{ expr: "min by (stream) (esh_media_producer_score)", legend: "{{stream}}" }] },
      { title: "Encoding queue by status", targets: [{ expr: 'max by (status) (esh_encoders_jobs{status=~"queued|running"})', legend: "{{status}}" }] },
      { title: "Encoder slots in use", targets: [{ expr: "sum(esh_encoders_running_here)", legend: "running" }, { expr: "sum(esh_encoders_slots)", legend: "slots" }] },
      { title: "Encoding attempts by result", targets: [{ expr: "sum by (result) (increase(esh_encoders_attempts_total[10m]))", legend: "{{result}}" }] },
    ],
  },
  {
    uid: "esh-qoe",
    title: "Echostreamhub / Viewer QoE and analytics pipeline",
    description: "Per-stream QoE over the last minute (from ClickHouse, exported by the analytics actor) and the event pipeline's health.",
    panels: [
      { title: "Startup time p95 by stream", targets: [{ expr: "max by (stream) (esh_qoe_startup_p95_ms)", legend: "{{stream}}" }], unit: "ms" },
      { title: "Rebuffering % by stream", targets: [{ expr: "max by (stream) (esh_qoe_rebuffer_pct)", legend: "{{stream}}" }], unit: "percent" },
      { title: "Playback failures % by stream", targets: [{ expr: "max by (stream) (esh_qoe_failure_pct)", legend: "{{stream}}" }], unit: "percent" },
      { title: "Exits before video start %", targets: [{ expr: "max by (stream) (esh_qoe_ebvs_pct)", legend: "{{stream}}" }], unit: "percent" },
      { title: "Player errors per minute", targets: [{ expr: "sum by (stream) (esh_qoe_errors_per_min)", legend: "{{stream}}" }] },
      { title: "Events accepted/s", targets: [{ expr: "sum(rate(esh_analytics_events_accepted_total[1m]))", legend: "accepted" }, { expr: "sum(rate(esh_analytics_events_dropped_total[1m]))", legend: "dropped (invalid)" }, { expr: "sum(rate(esh_analytics_events_refused_total[1m]))", legend: "refused (backlog full)" }], unit: "ops" },
      { title: "Ingest lag p99", targets: [{ expr: "max(esh_analytics_ingest_lag_p99)", legend: "lag p99" }], unit: "ms" },
      { title: "Backlog", targets: [{ expr: "max(esh_analytics_backlog_bytes)", legend: "bytes" }], unit: "bytes" },
      { title: "ClickHouse up", kind: "stat", targets: [{ expr: "min(esh_analytics_store_up)", legend: "store up" }] },
    ],
  },
];

/** Grafana dashboard JSON (schemaVersion 39), panels on a 2-column grid. */
export function dashboardJson(d: DashboardSpec): Record<string, unknown> {
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ["echostreamhub"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: "10s",
    time: { from: "now-1h", to: "now" },
    templating: { list: [] },
    annotations: { list: [] },
    panels: d.panels.map((p, i) => ({
      id: i + 1,
      type: p.kind ?? "timeseries",
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource: { type: "prometheus", uid: "prometheus" },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit ?? "short" }, overrides: [] },
      options: p.kind === "stat" ? { reduceOptions: { calcs: ["lastNotNull"] } } : { legend: { displayMode: "list", placement: "bottom" } },
      targets: p.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), expr: t.expr, legendFormat: t.legend, datasource: { type: "prometheus", uid: "prometheus" } })),
    })),
  };
}

export const DASHBOARD_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "dashboards");
export const dashboardFile = (d: DashboardSpec): string => path.join(DASHBOARD_DIR, `${d.uid}.json`);
export const dashboardText = (d: DashboardSpec): string => JSON.stringify(dashboardJson(d), null, 2) + "\n";

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(DASHBOARD_DIR, { recursive: true });
  for (const d of DASHBOARDS) {
    writeFileSync(dashboardFile(d), dashboardText(d));
    process.stdout.write(`wrote ${path.relative(process.cwd(), dashboardFile(d))} (${d.panels.length} panels)\n`);
  }
}
