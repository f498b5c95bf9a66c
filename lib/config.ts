/**
 * The one config module. Layers, later wins: typed defaults -> an optional JSON file named by
 * CONFIG_FILE -> environment variables -> validation. Every setting is declared once, in CONFIG
 * below (kind and bounds, default, what it does, alias): the AppConfig type, the defaults, the
 * ESH_* variable names, the validation and docs/configuration.md are all derived from it.
 * Unknown keys are rejected in every layer: a JSON key that is not a setting, and an `ESH_*`
 * environment variable that is not one, both stop start-up with the list of what is known.
 *
 * Every setting has an `ESH_*` variable (ESH_GATEWAY_MAX_FRAME_BYTES ...); the common ones also
 * have a short alias (PORT, HOST, DATA_DIR, NATS_URL, SERVICES, LOG_LEVEL).
 */
import { readFileSync } from "node:fs";
import path from "node:path";

export const SERVICE_NAMES = ["gateway", "sessions", "streams", "rooms", "media", "encoders", "analytics", "recommenders"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const STORE_KINDS = ["sqlite", "jetstream"] as const;
export const TRACING_EXPORTERS = ["none", "console", "event", "otlp"] as const;
export const LOG_FORMATS = ["auto", "json", "text"] as const;

export type Kind =
  | { t: "int"; min: number; max: number }
  | { t: "num"; min: number; max: number }
  | { t: "bool" }
  | { t: "str" }
  | { t: "enum"; values: readonly string[] }
  | { t: "list"; values?: readonly string[] };

/** One setting: its kind and bounds, default, what it does, and an optional short alias. */
export interface Spec<V> {
  readonly kind: Kind;
  readonly default: V;
  readonly doc: string;
  readonly alias?: string | undefined;
}

const spec = <V>(kind: Kind, value: V, doc: string, alias?: string): Spec<V> => ({ kind, default: value, doc, alias });
const int = (min: number, max: number, value: number, doc: string, alias?: string) => spec({ t: "int", min, max }, value, doc, alias);
const num = (min: number, max: number, value: number, doc: string, alias?: string) => spec({ t: "num", min, max }, value, doc, alias);
const bool = (value: boolean, doc: string, alias?: string) => spec({ t: "bool" }, value, doc, alias);
const str = (value: string, doc: string, alias?: string) => spec({ t: "str" }, value, doc, alias);
const oneOf = <const V extends readonly string[]>(values: V, value: V[number], doc: string, alias?: string) => spec<V[number]>({ t: "enum", values }, value, doc, alias);
const list = (value: string[], doc: string, alias?: string) => spec<string[]>({ t: "list" }, value, doc, alias);
const listOf = <const V extends readonly string[]>(values: V, value: V[number][], doc: string, alias?: string) => spec<V[number][]>({ t: "list", values }, value, doc, alias);
const BIG = Number.MAX_SAFE_INTEGER;

/** Every setting, once. Groups mirror AppConfig; the variable of `a.bC` is ESH_A_B_C. */
export const CONFIG = {
  port: int(0, 65535, 8080, "Gateway HTTP/WebSocket port (PORT). 0 picks a free port. Default 8080.", "PORT"),
  host: str("127.0.0.1", "Address the gateway listens on (HOST). Default 127.0.0.1.", "HOST"),
  dataDir: str("data", "Where this node keeps its files: the sqlite store (embedded), chdb, scratch space, the edge cache, and media objects when blobs.backend is dir (DATA_DIR).", "DATA_DIR"),
  natsUrl: str("", "NATS server URL(s), comma separated (NATS_URL). Unset = embedded: in-process transport.", "NATS_URL"),
  services: listOf(SERVICE_NAMES, [...SERVICE_NAMES], "Which actors this node runs (SERVICES=gateway,sessions,...). Default: all of them.", "SERVICES"),
  nodeId: str("", "Moleculer node id (NODE_ID). Default: hostname-pid.", "NODE_ID"),
  namespace: str("esh", "Moleculer namespace: nodes only see nodes of the same namespace."),
  logLevel: oneOf(LOG_LEVELS, "info", "Log level (LOG_LEVEL).", "LOG_LEVEL"),
  logFormat: oneOf(LOG_FORMATS, "auto", "Log lines: JSON objects (category, trace ids, fields) or short text; auto = text on a terminal (LOG_FORMAT).", "LOG_FORMAT"),
  opsPort: int(0, 65535, 0, "/metrics, /healthz and /readyz on this port (for the private network); 0 = off (OPS_PORT).", "OPS_PORT"),
  store: oneOf(["", ...STORE_KINDS], "", "Persistence backend. Default: sqlite when embedded, jetstream when NATS_URL is set."),
  storeReplicas: int(1, 5, 1, "JetStream KV replicas (1 for a single NATS server, 3 for a cluster)."),
  auth: {
    accessTtlSec: int(5, 86400, 300, "Access token lifetime. Short: revocation also reaches every node by event."),
    refreshTtlSec: int(60, 365 * 86400, 30 * 24 * 3600, "Refresh token lifetime; each use rotates it."),
    refreshReuseGraceSec: int(0, 300, 20, "A refresh token superseded this recently is still honoured (and rotates again) instead of counting as stolen: a client whose refresh answer was lost, or whose tabs refreshed together, is not logged out. 0: any second use revokes the session."),
    guestTtlSec: int(5, 7 * 86400, 3600, "Guest viewer token lifetime (no refresh: ask for a new guest token)."),
    scryptCost: int(1024, 1 << 20, 16384, "scrypt cost N (power of two). 16384 ~ 50 ms per hash on our machines."),
    keyGraceSec: int(5, 7 * 86400, 900, "A retired signing key still verifies for this long (>= accessTtlSec)."),
    openCreatorSignup: bool(false, "Anyone may register as a creator. Off by default: creators are granted by an admin (POST /api/admin/users/:id/role); a sign-up asking for it is refused."),
    adminUser: str("", "Create or reset this admin at start when both are set (ADMIN_USER, with ADMIN_PASSWORD).", "ADMIN_USER"),
    adminPassword: str("", "The password of that admin (ADMIN_PASSWORD).", "ADMIN_PASSWORD"),
  },
  gateway: {
    maxFrameBytes: int(256, 16 << 20, 64 * 1024, "Largest WebSocket frame accepted; bigger ones close the socket with 1009."),
    maxBackpressureBytes: int(1024, 1 << 30, 1024 * 1024, "Bytes queued for one slow WebSocket before it is closed (4001, reconnect)."),
    idleTimeoutSec: int(8, 960, 60, "Idle WebSocket timeout; clients ping to stay connected."),
    wsRatePerSec: num(0.1, 1e6, 50, "Sustained WebSocket messages/s per connection."),
    wsBurst: int(1, 1e6, 100, "Burst of WebSocket messages above wsRatePerSec."),
    wsFloodCloseAfter: int(1, 1e6, 50, "Rate-limit errors in a row before a flooding WebSocket is closed (4002)."),
    wsPerIp: int(1, 10_000_000, 1000, "Open WebSockets per client IP on one gateway; past it or wsPerUser an upgrade answers 429 with Retry-After."),
    wsPerUser: int(1, 10_000_000, 20, "Open WebSockets per user (a guest token is its own user) on one gateway."),
    joinBatch: int(1, 500, 500, "Joins of one room sent to its owner as one call, at most (gathered while the previous batch is on its way); 1 = each join its own call."),
    joinsPerIp: int(1, 10_000_000, 200, "Shed load: joins one client address (an IPv6 one by its /64) may have on their way at once on a gateway; past it room.join answers RATE_LIMITED with retryAfterMs (one address cannot fill the queue everyone else's joins are shed on)."),
    joinQueueMs: int(100, 60_000, 2000, "Shed load: a join that would wait longer than this for the joins ahead of it (at this gateway's measured join rate) is refused with UNAVAILABLE and `retryAfterMs`."),
    shedLagMs: int(50, 60_000, 1000, "Shed load: while this gateway's event loop lags more than this, WebSocket upgrades answer 503 with Retry-After."),
    httpRatePerIp: num(0.1, 1e6, 50, "HTTP requests/s per client IP."),
    httpBurstPerIp: int(1, 1e6, 100, "Burst of HTTP requests per client IP above httpRatePerIp."),
    httpRatePerUser: num(0.1, 1e6, 20, "HTTP requests/s per user."),
    httpBurstPerUser: int(1, 1e6, 40, "Burst of HTTP requests per user above httpRatePerUser."),
    authRatePerIp: num(0.01, 1e6, 2, "Login/register/guest attempts per second per IP (password guessing)."),
    authBurstPerIp: int(1, 1e6, 10, "Burst of login/register/guest attempts per IP above authRatePerIp."),
    maxBodyBytes: int(64, 1 << 30, 1024 * 1024, "Largest HTTP request body."),
    corsOrigins: list(["*"], "Allowed CORS origins, comma separated; `*` allows any (tokens are bearer, no cookies)."),
    drainTimeoutMs: int(0, 600_000, 10_000, "How long SIGTERM waits for in-flight requests before closing anyway."),
    trustProxy: bool(false, "Read the client IP from X-Forwarded-For (only behind your own proxy): the right-most hop that is not in trustedProxies. With trustedProxies empty, the socket's peer is the proxy."),
    trustedProxies: list([], "Our reverse proxies and load balancers (IPs and CIDRs, comma separated)."),
    metricsToken: str("", "A gateway's public port serves /metrics only with `Authorization: Bearer <metricsToken>` (Prometheus `authorization.credentials`); empty = not at all there (use OPS_PORT)."),
    allowUwsFallback: bool(false, "Allow the pure-JS uWS fallback when the native binary does not load (slow).", "UWS_ALLOW_FALLBACK"),
    tlsCertFile: str("", "HTTPS/WSS: the PEM certificate file; with tlsKeyFile the gateway speaks TLS only.", "TLS_CERT_FILE"),
    tlsKeyFile: str("", "HTTPS/WSS: the PEM key file (with tlsCertFile).", "TLS_KEY_FILE"),
    publicUrl: str("", "This gateway's URL as viewers reach it (edges announce it so the API can send viewers there).", "PUBLIC_URL"),
    edgeOrigin: str("", "Edge mode: serve /vod/ and /live/ from this origin gateway's URL through a bounded cache; empty = off."),
    edgeMemoryBytes: int(0, 2 ** 40, 256 * 1024 ** 2, "Edge cache bound in memory, bytes."),
    edgeDiskBytes: int(0, 2 ** 50, 2 * 1024 ** 3, "Edge cache bound on disk (DATA_DIR/edge-cache), bytes."),
  },
  rooms: {
    historySize: int(1, 10_000, 100, "Sequenced events a room keeps in memory for joins and recovery."),
    logKeep: int(1, 1_000_000, 1000, "Sequenced events kept in the durable log per room."),
    chatMaxLength: int(1, 10_000, 500, "Longest chat message, characters."),
    chatRatePerSec: num(0.01, 1000, 1, "Chat messages per second per user in a room."),
    chatBurst: int(1, 1000, 5, "Burst of chat messages per user above chatRatePerSec."),
    reactionWindowMs: int(20, 5000, 200, "Reactions are summed per window before they fan out."),
    presenceDebounceMs: int(50, 60_000, 500, "Presence (viewer count) updates go out at most this often."),
    leaseTtlMs: int(1000, 600_000, 10_000, "Room ownership lease: the backstop when nodes' beats cannot be read (a dead owner's rooms move when its beats stop, in about a second)."),
    idleUnloadMs: int(1000, 86_400_000, 60_000, "A room with nobody in it and no activity for this long is unloaded and its lease freed."),
    fanoutBatchMs: int(0, 20, 10, "While a room is busy, gateways send it at most one frame per this many ms (leading edge: a quiet room sends at once); 0 = no batching: each broadcast from the room's owner is sent as it arrives."),
  },
  media: {
    workers: int(0, 256, 0, "mediasoup workers on this node (one process each); 0 = one per core."),
    listenIp: str("127.0.0.1", "IP the WebRTC servers listen on."),
    announcedAddress: str("", "Address announced to clients in ICE candidates (public IP or name behind NAT); empty = listenIp."),
    rtcPort: int(0, 65000, 44440, "UDP+TCP port of worker i's WebRtcServer is rtcPort + i (one port per worker); 0 = any free port."),
    maxConsumersPerRouter: int(1, 100_000, 500, "Consumers on one router before new viewers are served from another worker (pipeToRouter)."),
    maxViewersPerNode: int(0, 10_000_000, 0, "Viewers one media node takes before new viewers of its streams are served by other media nodes, relayed through PipeTransports; 0 = workers x maxConsumersPerRouter / 2."),
    initialOutgoingBitrate: int(100_000, 100_000_000, 1_000_000, "Bandwidth estimate a new viewer transport starts from (bits/s)."),
    broadcasterGraceMs: int(0, 3_600_000, 30_000, "After the broadcaster disconnects, the stream stays live this long for it to come back."),
    mediaTimeoutMs: int(1000, 3_600_000, 10_000, "A broadcaster whose producers carry no media for this long has left (a crashed encoder, a lost network, a tab closed without WHIP DELETE): the grace period then starts."),
    sessionConnectTimeoutMs: int(1000, 3_600_000, 15_000, "A WHIP or WHEP session whose ICE + DTLS has not connected this long after its answer is closed."),
    whepPerUser: int(1, 10_000, 4, "WHEP sessions at once per user on one media node."),
    whepPerIp: int(1, 100_000, 20, "WHEP sessions at once per client IP on one media node."),
    rtmpPort: int(0, 65535, 1935, "RTMP ingest listener of each media node (OBS and other encoders: rtmp://host:port/live, the stream key as the key); 0 = off."),
    srtPort: int(0, 65535, 8890, "SRT ingest listener (UDP) of each media node: srt://host:port?streamid=<stream key>, many streams on the one port; 0 = off."),
    srtLatencyMs: int(20, 8000, 120, "SRT receive latency (ms): the retransmission window of the SRT ingest."),
    ingestHost: str("", "Host name encoders reach the RTMP/SRT listeners by, as shown in the studio; empty = the host the studio was opened at."),
    ingestMaxKbps: int(100, 1_000_000, 12_000, "An RTMP ingest whose video goes above this bitrate (kbit/s, over 5 s) is cut off."),
    ingestMaxHeight: int(144, 4320, 1080, "An RTMP ingest taller than this (pixels) is refused."),
    liveHls: bool(true, "Also package every live stream as HLS (ffmpeg, into the blob store at live/<id>/, served at /live/)."),
    recordLive: bool(true, "Record live streams (stream copy, with live HLS) and turn each into a VOD asset when it ends."),
    workerLogLevel: oneOf(["debug", "warn", "error", "none"], "warn", "mediasoup worker log level."),
  },
  blobs: {
    backend: oneOf(["", "dir", "nats"], "", "Where media objects live (uploads, VOD ladders, live HLS, recordings): dir = DATA_DIR on this node; nats = a NATS JetStream object store every node shares (no shared disk). Default: dir when embedded, nats when NATS_URL is set (BLOBS).", "BLOBS"),
    natsUrl: str("", "NATS server URL(s) of the blob store, comma separated; empty = NATS_URL (the bus's own servers)."),
    bucket: str("", "The object store bucket; empty = <namespace>_media."),
    replicas: int(1, 5, 1, "Object store replicas (1 for a single NATS server, 3 for a cluster)."),
    timeoutMs: int(100, 120_000, 5000, "One request to the blob store may take this long before the store counts as unreachable (UNAVAILABLE, retried)."),
    readCacheBytes: int(0, 2 ** 40, 64 * 1024 ** 2, "A gateway keeps media objects it served recently in memory (segments and images until evicted, playlists for half a second), bytes; simultaneous reads of one object share one store read. 0 = neither (every request reads the store)."),
    retryMs: int(1000, 3_600_000, 60_000, "How long an encoder retries a read or write while the store is away (the attempt then fails and the job is retried), and a media node the put of a recording."),
    liveBufferSegments: int(8, 10_000, 30, "Live HLS segments per rendition a media node keeps in memory while the store is away (each a few hundred KB; three renditions per show), written in order once it is back; older ones are dropped with a log line."),
  },
  vod: {
    maxUploadBytes: int(1024, 2 ** 50, 2 * 1024 ** 3, "Largest upload accepted (bytes)."),
    maxActiveUploadsPerCreator: int(1, 100_000, 3, "Per creator (admins are exempt): uploads in progress at once. A new upload past any creator quota answers 429 naming it."),
    maxPendingBytesPerCreator: int(1024, 2 ** 50, 4 * 1024 ** 3, "Per creator: bytes of uploads in progress still to send."),
    maxQueuedJobsPerCreator: int(1, 100_000, 5, "Per creator: encoding jobs queued or running."),
    uploadChunkMaxBytes: int(64 * 1024, 2 ** 30, 16 * 1024 ** 2, "Largest body of one upload PATCH (bytes): clients send bigger files in chunks."),
    maxDurationSec: int(1, 7 * 86400, 4 * 3600, "Uploads longer than this are rejected after ffprobe."),
    maxWidth: int(16, 16384, 4096, "Uploads wider than this are rejected after ffprobe."),
    maxHeight: int(16, 16384, 2160, "Uploads taller than this are rejected after ffprobe."),
    encoderConcurrency: int(0, 256, 0, "Encoding jobs run at once per encoders node; 0 = one per core."),
    jobLeaseMs: int(1000, 3_600_000, 15_000, "A running job's lease: a node that stops renewing it (died) loses the job to another."),
    maxAttempts: int(1, 100, 3, "Attempts before a job fails for good."),
    playbackUrlTtlSec: int(10, 7 * 86400, 600, "Lifetime of signed playback URLs (GET /api/playback/:id)."),
  },
  analytics: {
    clickhouseUrl: str("", "A ClickHouse server's HTTP URL (CLICKHOUSE_URL). Unset = chdb embedded, in DATA_DIR/analytics.", "CLICKHOUSE_URL"),
    clickhouseDatabase: str("echostreamhub", "Database on the ClickHouse server (created at start)."),
    batchMaxEvents: int(1, 10_000_000, 100_000, "Events per insert, at most."),
    flushMs: int(10, 60_000, 200, "How long the consumer waits to fill an insert."),
    backlogMaxBytes: int(1 << 20, 2 ** 50, 1024 ** 3, "Accepted but not yet stored events may take this many bytes (spool or JetStream); beyond it publishers get UNAVAILABLE and clients keep their events and retry."),
    ackWaitMs: int(1000, 3_600_000, 60_000, "JetStream: an unacked delivery (its consumer died mid-insert) comes back after this."),
    alertsFile: str("analytics/alerts.json", "Alert rules (JSON, see docs/events.md#alerts)."),
    alertIntervalMs: int(200, 3_600_000, 10_000, "Alert rules are evaluated this often."),
    alertWebhookUrl: str("", "Alerts are also POSTed here (JSON), when set."),
    queryMaxRows: int(1, 1_000_000, 10_000, "Analyst queries (admin endpoint and npm run sql): rows returned at most."),
    queryMaxSeconds: int(1, 3600, 10, "Analyst queries: time limit."),
    queryMaxMemoryBytes: int(1 << 20, 2 ** 40, 2 * 1024 ** 3, "Analyst queries: memory limit."),
    nodeLoadIntervalMs: int(100, 3_600_000, 10_000, "How often each gateway records its node's load (node.load events)."),
  },
  recs: {
    retrainMs: int(1000, 7 * 86_400_000, 600_000, "Full retrain every this long (the current model serves meanwhile)."),
    firstTrainMs: int(0, 3_600_000, 5_000, "First training this long after start."),
    windowDays: int(1, 3650, 30, "Events of the last this many days make the features."),
    dim: int(4, 512, 48, "Embedding size of the two-tower model."),
    maxSteps: int(20, 1_000_000, 5000, "A cap on the two-tower model's optimiser steps; training stops earlier, once the loss on held-out users stops improving."),
    cacheMs: int(0, 86_400_000, 60_000, "A user's list is cached this long, unless their new events invalidate it."),
    keepVersions: int(1, 100, 3, "Model versions kept in DATA_DIR/models."),
    trainer: bool(true, "This node trains (one trainer per cluster); others only score the versions it publishes (NATS object store + recommenders.model event)."),
  },
  broker: {
    requestTimeoutMs: int(100, 600_000, 10_000, "Moleculer request timeout."),
    retries: int(0, 10, 2, "Moleculer retries of a failed call."),
    heartbeatIntervalSec: int(1, 600, 5, "Moleculer heartbeat interval."),
    heartbeatTimeoutSec: int(2, 3600, 15, "A node silent this long is gone (more than heartbeatIntervalSec)."),
    bulkheadConcurrency: int(1, BIG, 64, "Moleculer bulkhead: actions running at once per node."),
    bulkheadMaxQueue: int(1, BIG, 1000, "Moleculer bulkhead: actions waiting at most."),
    tracingExporter: oneOf(TRACING_EXPORTERS, "none", "otlp = OpenTelemetry over HTTP/JSON to otlpUrl (a collector, Jaeger, Tempo)."),
    tracingSampleRate: num(0, 1, 0.1, "Share of requests traced (0..1)."),
    otlpUrl: str("", "OTLP/HTTP endpoint base, e.g. http://otel-collector:4318 (spans go to /v1/traces)."),
  },
};

type Tree = Record<string, unknown>;
type ConfigOf<T> = { -readonly [K in keyof T]: T[K] extends Spec<infer V> ? V : ConfigOf<T[K]> };
export type AppConfig = ConfigOf<typeof CONFIG>;

export interface Setting {
  path: string;
  env: string;
  alias?: string;
  kind: Kind;
  spec: Spec<unknown>;
}

const isSpec = (v: unknown): v is Spec<unknown> => typeof v === "object" && v !== null && "kind" in v && "doc" in v;

/** The table's leaves with their paths, in declaration order. */
function leaves(node: Tree, prefix = ""): Setting[] {
  return Object.entries(node).flatMap(([key, v]) => {
    const p = prefix + key;
    if (!isSpec(v)) return leaves(v as Tree, `${p}.`);
    const env = "ESH_" + p.replace(/\./g, "_").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
    return [v.alias === undefined ? { path: p, env, kind: v.kind, spec: v } : { path: p, env, alias: v.alias, kind: v.kind, spec: v }];
  });
}

const SETTINGS: Setting[] = leaves(CONFIG);

function defaultsOf(node: Tree): Tree {
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, isSpec(v) ? structuredClone(v.default) : defaultsOf(v as Tree)]));
}

/** The defaults, as a config. */
export const DEFAULTS: AppConfig = defaultsOf(CONFIG) as unknown as AppConfig; // the walk mirrors ConfigOf

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Builds the config: defaults -> CONFIG_FILE -> env -> validation. Throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const cfg = structuredClone(DEFAULTS);
  const tree = cfg as unknown as Tree; // the same table made both, so paths and types are in step
  const file = env.CONFIG_FILE;
  if (file) applyFile(tree, readJson(file));
  applyEnv(tree, env);
  return finish(cfg);
}

function readJson(file: string): Tree {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as Tree;
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE ${file}: ${(err as Error).message}`);
  }
}

function applyFile(tree: Tree, obj: Tree, prefix = ""): void {
  for (const [key, value] of Object.entries(obj)) {
    const p = prefix + key;
    const setting = SETTINGS.find((x) => x.path === p);
    if (setting) {
      setPath(tree, p, coerceFileValue(setting, value));
    } else if (SETTINGS.some((x) => x.path.startsWith(p + ".")) && typeof value === "object" && value !== null) {
      applyFile(tree, value as Tree, p + ".");
    } else {
      throw new ConfigError(`CONFIG_FILE: unknown key "${p}". Known: ${SETTINGS.map((x) => x.path).join(", ")}`);
    }
  }
}

function coerceFileValue(setting: Setting, value: unknown): unknown {
  if (Array.isArray(value)) return parseValue(setting, value.map((x) => String(x)).join(","));
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return parseValue(setting, String(value));
  throw new ConfigError(`${setting.path}: expected a scalar or a list`);
}

function applyEnv(tree: Tree, env: NodeJS.ProcessEnv): void {
  const known = new Set(SETTINGS.map((x) => x.env));
  const unknown = Object.keys(env).filter((k) => k.startsWith("ESH_") && !known.has(k));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown environment variable(s) ${unknown.join(", ")}. Known: ${[...known].join(", ")}`);
  }
  for (const setting of SETTINGS) {
    const raw = env[setting.env] ?? (setting.alias ? env[setting.alias] : undefined);
    if (raw !== undefined && raw !== "") setPath(tree, setting.path, parseValue(setting, raw));
  }
}

function parseValue(setting: Setting, raw: string): unknown {
  const k = setting.kind;
  const bad = (why: string): never => {
    throw new ConfigError(`${setting.env}${setting.alias ? ` (${setting.alias})` : ""}=${JSON.stringify(raw)}: ${why}`);
  };
  switch (k.t) {
    case "int":
    case "num": {
      const n = Number(raw);
      if (!Number.isFinite(n) || (k.t === "int" && !Number.isInteger(n))) return bad(`expected ${k.t === "int" ? "an integer" : "a number"}`);
      if (n < k.min || n > k.max) return bad(`expected ${k.min}..${k.max}`);
      return n;
    }
    case "bool":
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return bad("expected true or false");
    case "str":
      return raw;
    case "enum":
      return k.values.includes(raw) ? raw : bad(`expected one of ${k.values.join(", ")}`);
    case "list": {
      const items = raw.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
      const wrong = k.values ? items.filter((x) => !k.values?.includes(x)) : [];
      return wrong.length > 0 ? bad(`unknown ${wrong.join(", ")}; expected some of ${k.values?.join(", ") ?? ""}`) : items;
    }
  }
}

function setPath(tree: Tree, p: string, value: unknown): void {
  const parts = p.split(".");
  const last = parts.pop() ?? p;
  let node = tree;
  for (const part of parts) node = node[part] as Tree;
  node[last] = value;
}

/** Cross-field rules and derived defaults. */
function finish(cfg: AppConfig): AppConfig {
  if (cfg.services.length === 0) throw new ConfigError("SERVICES names no actor");
  if (cfg.store === "") cfg.store = cfg.natsUrl ? "jetstream" : "sqlite";
  if (cfg.store === "jetstream" && !cfg.natsUrl) throw new ConfigError("store=jetstream needs NATS_URL");
  if (cfg.blobs.backend === "") cfg.blobs.backend = cfg.natsUrl || cfg.blobs.natsUrl ? "nats" : "dir";
  if (cfg.blobs.backend === "nats" && !cfg.blobs.natsUrl) cfg.blobs.natsUrl = cfg.natsUrl;
  if (cfg.blobs.backend === "nats" && !cfg.blobs.natsUrl) throw new ConfigError("blobs.backend=nats needs NATS_URL or ESH_BLOBS_NATS_URL");
  if (cfg.blobs.bucket === "") cfg.blobs.bucket = `${cfg.namespace || "esh"}_media`;
  if (cfg.auth.keyGraceSec < cfg.auth.accessTtlSec) cfg.auth.keyGraceSec = cfg.auth.accessTtlSec;
  if (cfg.broker.heartbeatTimeoutSec <= cfg.broker.heartbeatIntervalSec) {
    throw new ConfigError("broker.heartbeatTimeoutSec must exceed broker.heartbeatIntervalSec");
  }
  if (Boolean(cfg.gateway.tlsCertFile) !== Boolean(cfg.gateway.tlsKeyFile)) throw new ConfigError("TLS needs both gateway.tlsCertFile and gateway.tlsKeyFile (TLS_CERT_FILE, TLS_KEY_FILE)");
  if (cfg.rooms.logKeep < cfg.rooms.historySize) throw new ConfigError("rooms.logKeep must be >= rooms.historySize");
  if ((cfg.auth.scryptCost & (cfg.auth.scryptCost - 1)) !== 0) throw new ConfigError("auth.scryptCost must be a power of two");
  if (Boolean(cfg.auth.adminUser) !== Boolean(cfg.auth.adminPassword)) {
    throw new ConfigError("ADMIN_USER and ADMIN_PASSWORD go together");
  }
  if (cfg.broker.tracingExporter === "otlp" && !/^https?:\/\//.test(cfg.broker.otlpUrl)) throw new ConfigError("tracingExporter=otlp needs ESH_BROKER_OTLP_URL (http://collector:4318)");
  cfg.dataDir = path.resolve(cfg.dataDir);
  return cfg;
}

/** Every setting with its variable, alias, kind and spec, in declaration order (docs). */
export function settingsTable(): readonly Readonly<Setting>[] {
  return SETTINGS;
}
