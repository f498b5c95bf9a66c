/**
 * analytics actor: consumes the event bus into the analytics store, evaluates alert rules,
 * and answers analysts and operators.
 *   query [admin]      one read-only SELECT (sql-guard + readonly settings + limits)
 *   dashboard [admin]  QoE, engagement, server health per minute, recent errors
 *   status [admin]     store, backlog, ingest figures, firing alerts
 * Server events come in as Moleculer events (stream lifecycle, encoder jobs, media load) and are
 * published to the same bus as client events. Several analytics nodes share the JetStream
 * consumer (work queue); alerts are evaluated by each and deduplicated by the gateway per id.
 */
import { randomUUID } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import { SecurityLog } from "../../lib/logging.js";
import { encodeRows, openBus, type EventBus } from "../../analytics/bus.js";
import { dashboard } from "../../analytics/dashboard.js";
import { serverEventRow, type EventRow } from "../../analytics/events.js";
import { Ingester } from "../../analytics/ingest.js";
import { AlertEvaluator, loadRules, STREAM_METRICS, streamMetricsSql, type Alert } from "../../analytics/alerts.js";
import { analystQuery, openAnalyticsStore, type AnalyticsStore } from "../../analytics/store.js";
import type { EncodeProgress } from "../encoders/encoders.service.js";

interface State {
  store: AnalyticsStore;
  bus: EventBus;
  ingester: Ingester;
  alerts: AlertEvaluator;
  timer?: NodeJS.Timeout;
  schemaVersion: number;
}

export function analyticsService(cfg: AppConfig): ServiceSchema {
  let st: State | undefined;
  const ready = (): State => {
    if (!st) throw new AppError("UNAVAILABLE", "Analytics is starting");
    return st;
  };
  const a = cfg.analytics;
  const lastStatus = new Map<string, string>();

  return {
    name: "analytics",
    actions: {
      query: {
        access: "admin",
        params: { sql: { type: "string", min: 1, max: 10_000 } },
        handler: (ctx: Context<{ sql: string }, CallMeta>) =>
          analystQuery(ready().store, ctx.params.sql, { maxRows: a.queryMaxRows, maxSeconds: a.queryMaxSeconds, maxMemoryBytes: a.queryMaxMemoryBytes }).catch((err: unknown) => {
            const reason = (err as { data?: { reason?: unknown } }).data?.reason;
            if (typeof reason === "string") {
              const c = ctx.meta.caller;
              SecurityLog.of(ctx.broker).event("protocol.abuse", { what: "analyst query refused", reason, user: c?.kind === "user" ? c.principal.userId : undefined, sql: ctx.params.sql.slice(0, 200) });
            }
            throw err;
          }),
      },
      dashboard: {
        access: "admin",
        params: { minutes: { type: "number", integer: true, min: 1, max: 10_080, optional: true, convert: true }, stream: { type: "string", max: 64, optional: true } },
        handler: async (ctx: Context<{ minutes?: number; stream?: string }>) => ({
          ...(await dashboard(ready().store, ctx.params.minutes ?? 60, ctx.params.stream)),
          status: await status(ready()),
        }),
      },
      status: { access: "admin", handler: () => status(ready()) },
    },
    events: {
      "streams.status": {
        handler(ctx: Context<{ id: string; status: string }>) {
          record(this.broker.nodeID, "stream.status", { stream_id: ctx.params.id, code: ctx.params.status });
        },
      },
      "encoders.progress": {
        handler(ctx: Context<EncodeProgress>) {
          const p = ctx.params;
          if (lastStatus.get(p.streamId) === p.status) return; // one event per job state, not per percent
          lastStatus.set(p.streamId, p.status);
          if (p.status === "done" || p.status === "failed" || p.status === "cancelled") lastStatus.delete(p.streamId);
          record(this.broker.nodeID, "encoder.job", { stream_id: p.streamId, user_id: p.ownerId, code: p.status, value: p.percent, data: p.error ? JSON.stringify({ error: p.error.slice(0, 500) }) : "" });
        },
      },
    },
    async started() {
      const log = this.logger;
      for (const [name, description] of Object.entries(GAUGES)) this.broker.metrics.register({ type: "gauge", name, description });
      for (const metric of STREAM_METRICS) this.broker.metrics.register({ type: "gauge", name: `esh.qoe.${metric}`, labelNames: ["stream"], description: `QoE over the last minute per stream: ${metric} (docs/events.md)` });
      const store = await openAnalyticsStore(cfg);
      const schemaVersion = await migrateWithRetry(store, (m) => log.warn(m));
      const bus = await openBus(cfg);
      const ingester = new Ingester(bus, store, { maxEvents: a.batchMaxEvents, flushMs: a.flushMs, log });
      ingester.start();
      st = { store, bus, ingester, alerts: new AlertEvaluator(loadRules(a.alertsFile), store), schemaVersion };
      st.timer = setInterval(() => void evaluate(this.broker, ready()).catch((err: unknown) => log.warn(`alerts: ${String(err)}`)), a.alertIntervalMs);
      st.timer.unref();
      log.info(`analytics: store ${store.kind} (${store.dialect} schema v${schemaVersion}), bus ${bus.kind}`);
    },
    async stopped() {
      if (!st) return;
      clearInterval(st.timer);
      await st.ingester.stop();
      await st.store.close();
    },
  };

  function record(node: string, type: EventRow["type"] & ("stream.status" | "encoder.job"), fields: Partial<EventRow>): void {
    const s = st;
    if (!s) return;
    s.bus.publish(encodeRows([serverEventRow(randomUUID(), type, node, fields)])).catch(() => undefined);
  }

  async function evaluate(broker: Context["broker"], s: State): Promise<void> {
    const backlog = await s.bus.backlog();
    const st = s.ingester.stats;
    const m = broker.metrics;
    m.set("esh.analytics.backlog.bytes", backlog.bytes);
    m.set("esh.analytics.backlog.pending", backlog.pending);
    m.set("esh.analytics.stored", st.stored);
    m.set("esh.analytics.duplicates", st.duplicates);
    m.set("esh.analytics.ingest.lag.p99", st.lagP99Ms);
    m.set("esh.analytics.store.up", st.storeUp ? 1 : 0);
    const changed = await s.alerts.evaluate({
      ingest_lag_p99_ms: s.ingester.stats.lagP99Ms,
      backlog_pct: (100 * backlog.bytes) / backlog.limitBytes,
      store_down: s.ingester.stats.storeUp ? 0 : 1,
    });
    for (const alert of changed) await notify(broker, alert);
    await qoeGauges(broker, s);
  }

  /** Per-stream QoE over the last minute as Prometheus gauges (series of quiet streams go away). */
  async function qoeGauges(broker: Context["broker"], s: State): Promise<void> {
    // The alert round just read the same 60 s window when a rule uses it (the default rules do).
    const rows = s.alerts.latest.get(60) ?? (await s.store.rows<Record<string, number | string>>(streamMetricsSql(60)).catch(() => undefined));
    if (!rows) return;
    const m = broker.metrics;
    for (const metric of STREAM_METRICS) {
      m.getMetric(`esh.qoe.${metric}`).clear();
      for (const r of rows) m.set(`esh.qoe.${metric}`, Number(r[metric]), { stream: String(r.stream_id) });
    }
  }

  async function notify(broker: Context["broker"], alert: Alert): Promise<void> {
    const line = `alert ${alert.state}: ${alert.rule} (${alert.metric} ${alert.value.toFixed(2)} vs ${alert.threshold})${alert.stream ? ` stream ${alert.stream}` : ""}`;
    if (alert.state === "firing") broker.logger.warn(line);
    else broker.logger.info(line);
    await broker.broadcast("analytics.alert", alert, { groups: ["gateway"] }).catch(() => undefined);
    if (!a.alertWebhookUrl) return;
    await fetch(a.alertWebhookUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alert), signal: AbortSignal.timeout(5000) }).catch(
      (err: unknown) => broker.logger.warn(`alert webhook failed: ${String(err)}`),
    );
  }
}

const GAUGES = {
  "esh.analytics.backlog.bytes": "Accepted events not yet stored (bytes in the spool or JetStream stream)",
  "esh.analytics.backlog.pending": "Accepted events (spool) or batches (JetStream) not yet stored",
  "esh.analytics.stored": "Events stored by this analytics node since it started",
  "esh.analytics.duplicates": "Redelivered or re-sent events dropped instead of stored twice",
  "esh.analytics.ingest.lag.p99": "Accepted -> stored, p99 over recent deliveries (ms)",
  "esh.analytics.store.up": "1 while inserts into the analytics store succeed",
};

async function status(s: State) {
  return {
    store: { kind: s.store.kind, dialect: s.store.dialect, schemaVersion: s.schemaVersion, up: s.ingester.stats.storeUp },
    bus: { kind: s.bus.kind, backlog: await s.bus.backlog() },
    ingest: s.ingester.stats,
    alerts: s.alerts.firing,
  };
}

/** The store may start after us (a ClickHouse server coming up): retry the migrations. */
async function migrateWithRetry(store: AnalyticsStore, warn: (m: string) => void): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await store.migrate();
    } catch (err) {
      if (attempt >= 30) throw err;
      if (attempt === 0) warn(`analytics: store not ready (${String(err)}); retrying`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
