/**
 * Versioned schema migrations for the analytics store, in two dialects of one schema:
 *   current — ClickHouse 2x (chdb, and servers from the last years): LowCardinality, DateTime64;
 *   legacy  — ClickHouse 18.16 (the only server Debian packages): no LowCardinality without a
 *             setting, no DateTime64, no SimpleAggregateFunction, no TTL/CODEC.
 * The columns, keys and views are the same; only the types above differ, so every query in
 * docs/events.md runs on both. Applied versions are recorded in `schema_migrations`.
 *
 * Raw events: partitioned by day, ordered (stream_id, ts) for per-stream queries. Three
 * AggregatingMergeTree tables fed by materialized views hold per-minute states (QoE,
 * engagement, server health); the `*_per_minute` views finalise them.
 */
export type Dialect = "current" | "legacy";

export interface Migration {
  version: number;
  name: string;
  statements: (d: Dialect) => string[];
}

const lc = (d: Dialect) => (d === "current" ? "LowCardinality(String)" : "String");
const ts = (d: Dialect) =>
  d === "current" ? "DateTime64(3, 'UTC') MATERIALIZED fromUnixTimestamp64Milli(toInt64(server_ms), 'UTC')" : "DateTime MATERIALIZED toDateTime(intDiv(server_ms, 1000))";

const eventsTable = (d: Dialect) => `CREATE TABLE IF NOT EXISTS events (
  event_id String,
  type ${lc(d)},
  client_ms UInt64,
  server_ms UInt64,
  user_id String,
  session_id String,
  view_id String,
  stream_id String,
  node ${lc(d)},
  device ${lc(d)},
  os ${lc(d)},
  browser ${lc(d)},
  app ${lc(d)},
  protocol ${lc(d)},
  rendition ${lc(d)},
  bitrate_kbps UInt32,
  duration_ms UInt32,
  watched_ms UInt32,
  position_ms UInt64,
  value Float64,
  fatal UInt8,
  started UInt8,
  code String,
  memory_bytes UInt64,
  connections UInt32,
  data String,
  ts ${ts(d)}
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (stream_id, ts)`;

const VIEW_TYPES = "('view.start','startup','play','pause','seek','buffer.start','buffer.end','quality','error','heartbeat','view.end')";

const qoeTable = () => `CREATE TABLE IF NOT EXISTS qoe_minute (
  stream_id String,
  minute DateTime,
  views_state AggregateFunction(uniqExact, String),
  started_views_state AggregateFunction(uniqExact, String),
  startup_state AggregateFunction(quantilesExact(0.5, 0.95), UInt32),
  ebvs_views_state AggregateFunction(uniqExact, String),
  failed_views_state AggregateFunction(uniqExact, String),
  errors_state AggregateFunction(count),
  rebuffer_ms_state AggregateFunction(sum, UInt64),
  watched_ms_state AggregateFunction(sum, UInt64),
  bitrate_ms_state AggregateFunction(sum, UInt64),
  switches_state AggregateFunction(count)
) ENGINE = AggregatingMergeTree ORDER BY (stream_id, minute)`;

const qoeView = () => `CREATE MATERIALIZED VIEW IF NOT EXISTS qoe_minute_mv TO qoe_minute AS
SELECT stream_id, toStartOfMinute(ts) AS minute,
  uniqExactStateIf(view_id, view_id != '') AS views_state,
  uniqExactStateIf(view_id, type = 'startup') AS started_views_state,
  quantilesExactStateIf(0.5, 0.95)(duration_ms, type = 'startup') AS startup_state,
  uniqExactStateIf(view_id, type = 'view.end' AND started = 0) AS ebvs_views_state,
  uniqExactStateIf(view_id, type = 'error' AND fatal = 1) AS failed_views_state,
  countStateIf(type = 'error') AS errors_state,
  sumStateIf(toUInt64(duration_ms), type = 'buffer.end') AS rebuffer_ms_state,
  sumStateIf(toUInt64(watched_ms), type IN ('heartbeat', 'view.end')) AS watched_ms_state,
  sumStateIf(toUInt64(bitrate_kbps) * watched_ms, type IN ('heartbeat', 'view.end')) AS bitrate_ms_state,
  countStateIf(type = 'quality') AS switches_state
FROM events WHERE type IN ${VIEW_TYPES}
GROUP BY stream_id, minute`;

const qoeFinal = () => `CREATE VIEW IF NOT EXISTS qoe_per_minute AS
SELECT stream_id, minute,
  uniqExactMerge(views_state) AS views,
  uniqExactMerge(started_views_state) AS started_views,
  quantilesExactMerge(0.5, 0.95)(startup_state) AS startup_ms_p50_p95,
  sumMerge(rebuffer_ms_state) AS rebuffer_ms,
  sumMerge(watched_ms_state) AS watched_ms,
  if(sumMerge(watched_ms_state) = 0, 0, 100 * sumMerge(rebuffer_ms_state) / sumMerge(watched_ms_state)) AS rebuffer_pct,
  if(uniqExactMerge(views_state) = 0, 0, 100 * uniqExactMerge(ebvs_views_state) / uniqExactMerge(views_state)) AS ebvs_pct,
  if(uniqExactMerge(views_state) = 0, 0, 100 * uniqExactMerge(failed_views_state) / uniqExactMerge(views_state)) AS failure_pct,
  countMerge(errors_state) AS errors,
  if(sumMerge(watched_ms_state) = 0, 0, sumMerge(bitrate_ms_state) / sumMerge(watched_ms_state)) AS avg_bitrate_kbps,
  if(uniqExactMerge(views_state) = 0, 0, countMerge(switches_state) / uniqExactMerge(views_state)) AS switches_per_view
FROM qoe_minute GROUP BY stream_id, minute`;

const engagementTable = () => `CREATE TABLE IF NOT EXISTS engagement_minute (
  stream_id String,
  minute DateTime,
  viewers_state AggregateFunction(uniqExact, String),
  chats_state AggregateFunction(count),
  reactions_state AggregateFunction(sum, Float64),
  votes_state AggregateFunction(count),
  voters_state AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree ORDER BY (stream_id, minute)`;

const engagementView = () => `CREATE MATERIALIZED VIEW IF NOT EXISTS engagement_minute_mv TO engagement_minute AS
SELECT stream_id, toStartOfMinute(ts) AS minute,
  uniqExactStateIf(session_id, type IN ('heartbeat', 'join', 'presence', 'view.start')) AS viewers_state,
  countStateIf(type = 'chat') AS chats_state,
  sumStateIf(value, type = 'reaction') AS reactions_state,
  countStateIf(type = 'vote') AS votes_state,
  uniqExactStateIf(session_id, type = 'vote') AS voters_state
FROM events WHERE stream_id != ''
GROUP BY stream_id, minute`;

const engagementFinal = () => `CREATE VIEW IF NOT EXISTS engagement_per_minute AS
SELECT stream_id, minute,
  uniqExactMerge(viewers_state) AS concurrent_viewers,
  countMerge(chats_state) AS chats_per_min,
  sumMerge(reactions_state) AS reactions_per_min,
  countMerge(votes_state) AS votes,
  if(uniqExactMerge(viewers_state) = 0, 0, 100 * uniqExactMerge(voters_state) / uniqExactMerge(viewers_state)) AS poll_participation_pct
FROM engagement_minute GROUP BY stream_id, minute`;

const healthTable = () => `CREATE TABLE IF NOT EXISTS health_minute (
  node String,
  minute DateTime,
  cpu_state AggregateFunction(avg, Float64),
  memory_state AggregateFunction(max, UInt64),
  connections_state AggregateFunction(max, UInt64)
) ENGINE = AggregatingMergeTree ORDER BY (node, minute)`;

const healthView = () => `CREATE MATERIALIZED VIEW IF NOT EXISTS health_minute_mv TO health_minute AS
SELECT node, toStartOfMinute(ts) AS minute,
  avgState(value) AS cpu_state,
  maxState(memory_bytes) AS memory_state,
  maxState(toUInt64(connections)) AS connections_state
FROM events WHERE type = 'node.load'
GROUP BY node, minute`;

const healthFinal = () => `CREATE VIEW IF NOT EXISTS health_per_minute AS
SELECT node, minute, avgMerge(cpu_state) AS cpu_pct, maxMerge(memory_state) AS memory_bytes, maxMerge(connections_state) AS connections
FROM health_minute GROUP BY node, minute`;

/** When the row reached the store: ingest lag = stored_at - server_ms, per event. A DEFAULT, so
 *  inserts never send it. (18.16 fills omitted JSONEachRow fields with zero, not the DEFAULT:
 *  there the lag is read from the ingester's figures instead.) */
const storedAt = (d: Dialect) =>
  d === "current" ? "ALTER TABLE events ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3)" : "ALTER TABLE events ADD COLUMN stored_at DateTime DEFAULT now()";

export const MIGRATIONS: Migration[] = [
  { version: 1, name: "events", statements: (d) => [eventsTable(d)] },
  { version: 2, name: "qoe per minute", statements: () => [qoeTable(), qoeView(), qoeFinal()] },
  { version: 3, name: "engagement per minute", statements: () => [engagementTable(), engagementView(), engagementFinal()] },
  { version: 4, name: "server health per minute", statements: () => [healthTable(), healthView(), healthFinal()] },
  { version: 5, name: "events.stored_at", statements: (d) => [storedAt(d)] },
];

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_ms UInt64) ENGINE = MergeTree ORDER BY version`;

/** Tables and views analysts may read through the query endpoint. */
export const READABLE_TABLES = ["events", "qoe_minute", "qoe_per_minute", "engagement_minute", "engagement_per_minute", "health_minute", "health_per_minute"];
