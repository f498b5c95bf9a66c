/** The gateway's metrics (Prometheus names esh_gateway_*, esh_edge_*, esh_gateway_blobs_*), and the timers that
 *  sample the gauges. Returns the timers, for the gateway to clear on drain. */
import type { ServiceBroker } from "moleculer";
import { AnalyticsEdge } from "./analytics-edge.js";
import type { BlobReader } from "./http/blob-reader.js";
import type { EdgeCache } from "./http/edge-cache.js";

const EDGE_GAUGES = ["hits", "misses", "originFetches", "memoryBytes", "diskBytes"] as const;
/** The gateway's blob reads (stats key -> metric name: snake_case, as Prometheus wants). */
const READER_GAUGES = { hits: "hits", storeReads: "store_reads", bytes: "cached_bytes" } as const;

export function registerGatewayMetrics(m: ServiceBroker["metrics"], connections: () => number, edge: EdgeCache | undefined, reader: BlobReader): NodeJS.Timeout[] {
  m.register({ type: "gauge", name: "esh.gateway.ws.connections", description: "Open WebSocket connections" });
  AnalyticsEdge.registerMetrics(m);
  m.register({ type: "counter", name: "esh.gateway.ws.messages.total", labelNames: ["type"], description: "WebSocket messages received, by type" });
  m.register({ type: "counter", name: "esh.gateway.rejects.total", labelNames: ["code"], description: "Requests, frames and upgrades refused, by error code" });
  m.register({ type: "counter", name: "esh.gateway.room.gaps.repaired.total", description: "Gaps in a room's sequence (lost broadcasts) filled from the owner's history" });
  m.register({ type: "counter", name: "esh.gateway.http.requests.total", labelNames: ["route", "status"], description: "HTTP API requests answered" });
  m.register({ type: "histogram", name: "esh.gateway.http.request.time", unit: "millisecond", buckets: [1, 5, 10, 25, 50, 100, 250, 1000], description: "HTTP request time" });
  m.set("esh.gateway.ws.connections", 0);
  const timers = [setInterval(() => m.set("esh.gateway.ws.connections", connections()), 1000)];
  if (edge) {
    for (const k of EDGE_GAUGES) m.register({ type: "gauge", name: `esh.edge.${k}`, description: `Edge cache: ${k}` });
    timers.push(setInterval(() => {
      for (const k of EDGE_GAUGES) m.set(`esh.edge.${k}`, edge.stats[k]);
    }, 500));
  }
  for (const name of Object.values(READER_GAUGES)) m.register({ type: "gauge", name: `esh.gateway.blobs.${name}`, description: `Media objects served from the blob store: ${name} (hits: from this gateway's memory; store_reads: reads that went to the store; cached_bytes: held in memory)` });
  timers.push(setInterval(() => {
    for (const [k, name] of Object.entries(READER_GAUGES)) m.set(`esh.gateway.blobs.${name}`, reader.stats[k as keyof typeof READER_GAUGES]);
  }, 1000));
  for (const t of timers) t.unref();
  return timers;
}
