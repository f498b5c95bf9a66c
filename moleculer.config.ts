/**
 * Broker options for every node, built from the one config (lib/config.ts).
 * Embedded (no NATS_URL): in-process transport. Distributed: NATS. msgpackr on every node.
 *
 * `moleculer-runner --config moleculer.config.ts` (through tsx) also works: the default export
 * reads the environment the same way main.ts does.
 */
import os from "node:os";
import type { BrokerOptions, Errors, TracerOptions } from "moleculer";
import { AccessMiddleware } from "./actors/access.js";
import { loadConfig, type AppConfig } from "./lib/config.js";
import { moleculerFormatter, TraceContextMiddleware } from "./lib/logging.js";
import { OtlpExporter } from "./lib/otlp-exporter.js";
import { RemoteCallsUntracked } from "./lib/tracking.js";
import { MsgpackrSerializer } from "./lib/serializer.js";

/** Errors after which the request certainly did not run, so a retry cannot run it twice. */
const SAFE_TO_RETRY = new Set(["ServiceNotAvailableError", "BrokerDisconnectedError", "QueueIsFullError"]);

export function brokerOptions(cfg: AppConfig): BrokerOptions {
  return {
    namespace: cfg.namespace,
    nodeID: cfg.nodeId || `${os.hostname()}-${process.pid}`,
    transporter: cfg.natsUrl ? { type: "NATS", options: { url: cfg.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 500 } } : null,
    serializer: new MsgpackrSerializer(),
    // JSON lines with category and trace ids (or short text on a terminal), secrets masked: lib/logging.ts.
    logger: { type: "Console", options: { level: cfg.logLevel, formatter: moleculerFormatter(cfg.logFormat), colors: false } },
    requestTimeout: cfg.broker.requestTimeoutMs,
    retryPolicy: {
      enabled: true,
      retries: cfg.broker.retries,
      delay: 100,
      maxDelay: 2000,
      factor: 2,
      check: (err: Error) => SAFE_TO_RETRY.has(err.name),
    },
    circuitBreaker: {
      enabled: true,
      threshold: 0.5,
      minRequestCount: 20,
      windowTime: 60,
      halfOpenTime: 10_000,
      // Only faults of the callee count, never the caller's bad input.
      check: (err: Error) => ((err as Partial<Errors.MoleculerError>).code ?? 500) >= 500,
    },
    bulkhead: { enabled: true, concurrency: cfg.broker.bulkheadConcurrency, maxQueueSize: cfg.broker.bulkheadMaxQueue },
    heartbeatInterval: cfg.broker.heartbeatIntervalSec,
    heartbeatTimeout: cfg.broker.heartbeatTimeoutSec,
    // Stopping waits for in-flight requests (up to the drain timeout) before services stop.
    tracking: { enabled: true, shutdownTimeout: cfg.gateway.drainTimeoutMs },
    // Metrics are collected here and served as Prometheus text by the gateway's /metrics.
    metrics: { enabled: true, reporter: [] },
    tracing: {
      enabled: true,
      sampling: { rate: cfg.broker.tracingSampleRate },
      exporter: traceExporters(cfg),
    },
    validator: true,
    // main.ts owns SIGTERM/SIGINT: the gateway drains first, then the broker stops. Moleculer's
    // own handlers would stop the broker at once, in parallel with the drain.
    skipProcessEventRegistration: true,
    // Trace ids in every log line when traces are exported (costly on Node 20: lib/logging.ts).
    middlewares: [AccessMiddleware(), RemoteCallsUntracked(), ...(cfg.broker.tracingExporter === "none" ? [] : [TraceContextMiddleware()])],
  };
}

function traceExporters(cfg: AppConfig): TracerOptions["exporter"] {
  switch (cfg.broker.tracingExporter) {
    case "none":
      return [];
    case "otlp":
      // Moleculer takes exporter instances too; its d.ts lists only names and option objects.
      return [new OtlpExporter({ url: cfg.broker.otlpUrl, serviceName: `echostreamhub-${cfg.services.join("-")}` }) as unknown as string];
    case "console":
      return ["Console"];
    case "event":
      return ["Event"];
  }
}

export default (): BrokerOptions => brokerOptions(loadConfig());
