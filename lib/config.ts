/**
 * The one config module. Layers, later wins: typed defaults (below, documented on each setting)
 * -> an optional JSON file named by CONFIG_FILE -> environment variables -> validation.
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

export interface AppConfig {
  /** Gateway HTTP/WebSocket port (PORT). 0 picks a free port. Default 8080. */
  port: number;
  /** Address the gateway listens on (HOST). Default 127.0.0.1. */
  host: string;
  /** Where this node keeps its files: the sqlite store, later uploads and segments (DATA_DIR). */
  dataDir: string;
  /** NATS server URL(s), comma separated (NATS_URL). Unset = embedded: in-process transport. */
  natsUrl: string;
  /** Which actors this node runs (SERVICES=gateway,sessions,...). Default: all of them. */
  services: ServiceName[];
  /** Moleculer node id (NODE_ID). Default: hostname-pid. */
  nodeId: string;
  /** Moleculer namespace: nodes only see nodes of the same namespace. */
  namespace: string;
  logLevel: LogLevel;
  /** Log lines: JSON objects (category, trace ids, fields) or short text; auto = text on a terminal (LOG_FORMAT). */
  logFormat: (typeof LOG_FORMATS)[number];
  /** /metrics, /healthz and /readyz on this port (for the private network); 0 = off (OPS_PORT). */
  opsPort: number;
  /** Persistence backend. Default: sqlite when embedded, jetstream when NATS_URL is set. */
  store: "" | (typeof STORE_KINDS)[number];
  /** JetStream KV replicas (1 for a single NATS server, 3 for a cluster). */
  storeReplicas: number;
  auth: {
    /** Access token lifetime. Short: revocation also reaches every node by event. */
    accessTtlSec: number;
    /** Refresh token lifetime; each use rotates it. */
    refreshTtlSec: number;
    /** Guest viewer token lifetime (no refresh: ask for a new guest token). */
    guestTtlSec: number;
    /** scrypt cost N (power of two). 16384 ~ 50 ms per hash on our machines. */
    scryptCost: number;
    /** A retired signing key still verifies for this long (>= accessTtlSec). */
    keyGraceSec: number;
    /** Anyone may register as a creator. Off by default: creators are granted by an admin
     *  (POST /api/admin/users/:id/role); a sign-up asking for it is refused. */
    openCreatorSignup: boolean;
    /** Create or reset this admin at start when both are set (ADMIN_USER / ADMIN_PASSWORD). */
    adminUser: string;
    adminPassword: string;
  };
  gateway: {
    /** Largest WebSocket frame accepted; bigger ones close the socket with 1009. */
    maxFrameBytes: number;
    /** Bytes queued for one slow WebSocket before it is closed (4001, reconnect). */
    maxBackpressureBytes: number;
    /** Idle WebSocket timeout; clients ping to stay connected. */
    idleTimeoutSec: number;
    /** Sustained WebSocket messages/s per connection, and the burst above it. */
    wsRatePerSec: number;
    wsBurst: number;
    /** Rate-limit errors in a row before a flooding WebSocket is closed (4002). */
    wsFloodCloseAfter: number;
    /** Open WebSockets per client IP, and per user (a guest token is its own user), on one
     *  gateway; an upgrade past either answers 429 with Retry-After. */
    wsPerIp: number;
    wsPerUser: number;
    /** HTTP requests/s per client IP and per user, with bursts. */
    httpRatePerIp: number;
    httpBurstPerIp: number;
    httpRatePerUser: number;
    httpBurstPerUser: number;
    /** Login/register/guest attempts per second per IP (password guessing). */
    authRatePerIp: number;
    authBurstPerIp: number;
    /** Largest HTTP request body. */
    maxBodyBytes: number;
    /** Allowed CORS origins, comma separated; `*` allows any (tokens are bearer, no cookies). */
    corsOrigins: string[];
    /** How long SIGTERM waits for in-flight requests before closing anyway. */
    drainTimeoutMs: number;
    /** Read the client IP from X-Forwarded-For (only behind your own proxy): the right-most hop
     *  that is not in trustedProxies. With trustedProxies empty, the socket's peer is the proxy. */
    trustProxy: boolean;
    /** Our reverse proxies and load balancers (IPs and CIDRs, comma separated). */
    trustedProxies: string[];
    /** A gateway's public port serves /metrics only with `Authorization: Bearer <metricsToken>`
     *  (Prometheus `authorization.credentials`); empty = not at all there (use OPS_PORT). */
    metricsToken: string;
    /** Allow the pure-JS uWS fallback when the native binary does not load (slow). */
    allowUwsFallback: boolean;
    /** HTTPS/WSS: PEM certificate and key files; both set = the gateway speaks TLS only. */
    tlsCertFile: string;
    tlsKeyFile: string;
    /** This gateway's URL as viewers reach it (edges announce it so the API can send viewers there). */
    publicUrl: string;
    /** Edge mode: serve /vod/ from this origin gateway's URL through a bounded cache; empty = off. */
    edgeOrigin: string;
    /** Edge cache bounds: memory and disk (DATA_DIR/edge-cache) bytes. */
    edgeMemoryBytes: number;
    edgeDiskBytes: number;
  };
  rooms: {
    /** Sequenced events a room keeps in memory for joins and recovery. */
    historySize: number;
    /** Sequenced events kept in the durable log per room. */
    logKeep: number;
    chatMaxLength: number;
    /** Chat messages per second per user in a room, and the burst above it. */
    chatRatePerSec: number;
    chatBurst: number;
    /** Reactions are summed per window before they fan out. */
    reactionWindowMs: number;
    /** Presence (viewer count) updates go out at most this often. */
    presenceDebounceMs: number;
    /** Room ownership lease; a dead owner's rooms move after at most this long. */
    leaseTtlMs: number;
    /** A room with nobody in it and no activity for this long is unloaded and its lease freed. */
    idleUnloadMs: number;
    /** While a room is busy, gateways send it at most one frame per this many ms (leading edge: a
     *  quiet room sends at once); 0 = every event-loop turn. */
    fanoutBatchMs: number;
  };
  media: {
    /** mediasoup workers on this node (one process each); 0 = one per core. */
    workers: number;
    /** IP the WebRTC servers listen on. */
    listenIp: string;
    /** Address announced to clients in ICE candidates (public IP or name behind NAT); empty = listenIp. */
    announcedAddress: string;
    /** UDP+TCP port of worker i's WebRtcServer is rtcPort + i (one port per worker); 0 = any free port. */
    rtcPort: number;
    /** Consumers on one router before new viewers are served from another worker (pipeToRouter). */
    maxConsumersPerRouter: number;
    /** Viewers one media node takes before new viewers of its streams are served by other media
     *  nodes, relayed through PipeTransports; 0 = workers x maxConsumersPerRouter / 2. */
    maxViewersPerNode: number;
    /** Bandwidth estimate a new viewer transport starts from (bits/s). */
    initialOutgoingBitrate: number;
    /** After the broadcaster disconnects, the stream stays live this long for it to come back. */
    broadcasterGraceMs: number;
    /** A broadcaster whose producers carry no media for this long has left (a crashed encoder,
     *  a lost network, a tab closed without WHIP DELETE): the grace period then starts. */
    mediaTimeoutMs: number;
    /** A WHIP or WHEP session whose ICE + DTLS has not connected this long after its answer is closed. */
    sessionConnectTimeoutMs: number;
    /** WHEP sessions at once per user, and per client IP, on one media node. */
    whepPerUser: number;
    whepPerIp: number;
    /** Also package every live stream as HLS (ffmpeg, DATA_DIR/live/<id>/, served at /live/). */
    liveHls: boolean;
    /** Record live streams (stream copy, with live HLS) and turn each into a VOD asset when it ends. */
    recordLive: boolean;
    /** mediasoup worker log level. */
    workerLogLevel: "debug" | "warn" | "error" | "none";
  };
  vod: {
    /** Largest upload accepted (bytes). */
    maxUploadBytes: number;
    /** Per creator (admins are exempt): uploads in progress at once, the bytes they may still
     *  send (the sum of their lengths), and encoding jobs queued or running. A new upload past
     *  any of these answers 429 naming the quota. */
    maxActiveUploadsPerCreator: number;
    maxPendingBytesPerCreator: number;
    maxQueuedJobsPerCreator: number;
    /** Largest body of one upload PATCH (bytes): clients send bigger files in chunks. */
    uploadChunkMaxBytes: number;
    /** Uploads longer, or larger in resolution, than these are rejected after ffprobe. */
    maxDurationSec: number;
    maxWidth: number;
    maxHeight: number;
    /** Encoding jobs run at once per encoders node; 0 = one per core. */
    encoderConcurrency: number;
    /** A running job's lease: a node that stops renewing it (died) loses the job to another. */
    jobLeaseMs: number;
    /** Attempts before a job fails for good. */
    maxAttempts: number;
    /** Lifetime of signed playback URLs (GET /api/playback/:id). */
    playbackUrlTtlSec: number;
  };
  analytics: {
    /** A ClickHouse server's HTTP URL (CLICKHOUSE_URL). Unset = chdb embedded, in DATA_DIR/analytics. */
    clickhouseUrl: string;
    /** Database on the server (created at start). */
    clickhouseDatabase: string;
    /** Events per insert, at most, and how long the consumer waits to fill one. */
    batchMaxEvents: number;
    flushMs: number;
    /** Accepted but not yet stored events may take this many bytes (spool or JetStream);
     *  beyond it publishers get UNAVAILABLE and clients keep their events and retry. */
    backlogMaxBytes: number;
    /** JetStream: an unacked delivery (its consumer died mid-insert) comes back after this. */
    ackWaitMs: number;
    /** Alert rules (JSON, see docs/events.md#alerts), evaluated every alertIntervalMs. */
    alertsFile: string;
    alertIntervalMs: number;
    /** Alerts are also POSTed here (JSON), when set. */
    alertWebhookUrl: string;
    /** Limits of analyst queries (admin endpoint and npm run sql). */
    queryMaxRows: number;
    queryMaxSeconds: number;
    queryMaxMemoryBytes: number;
    /** How often each gateway records its node's load (node.load events). */
    nodeLoadIntervalMs: number;
  };
  recs: {
    /** Full retrain every this long (the current model serves meanwhile). */
    retrainMs: number;
    /** First training this long after start. */
    firstTrainMs: number;
    /** Events of the last this many days make the features. */
    windowDays: number;
    /** Embedding size and epochs of the two-tower model. */
    dim: number;
    epochs: number;
    /** A user's list is cached this long, unless their new events invalidate it. */
    cacheMs: number;
    /** Model versions kept in DATA_DIR/models. */
    keepVersions: number;
    /** This node trains (one trainer per cluster); others only score the versions it
     *  publishes (NATS object store + recommenders.model event). */
    trainer: boolean;
  };
  broker: {
    requestTimeoutMs: number;
    retries: number;
    heartbeatIntervalSec: number;
    heartbeatTimeoutSec: number;
    bulkheadConcurrency: number;
    bulkheadMaxQueue: number;
    /** otlp = OpenTelemetry over HTTP/JSON to otlpUrl (a collector, Jaeger, Tempo). */
    tracingExporter: (typeof TRACING_EXPORTERS)[number];
    tracingSampleRate: number;
    /** OTLP/HTTP endpoint base, e.g. http://otel-collector:4318 (spans go to /v1/traces). */
    otlpUrl: string;
  };
}

export const DEFAULTS: AppConfig = {
  port: 8080,
  host: "127.0.0.1",
  dataDir: "data",
  natsUrl: "",
  services: [...SERVICE_NAMES],
  nodeId: "",
  namespace: "esh",
  logLevel: "info",
  logFormat: "auto",
  opsPort: 0,
  store: "",
  storeReplicas: 1,
  auth: {
    accessTtlSec: 300,
    refreshTtlSec: 30 * 24 * 3600,
    guestTtlSec: 3600,
    scryptCost: 16384,
    keyGraceSec: 900,
    openCreatorSignup: false,
    adminUser: "",
    adminPassword: "",
  },
  gateway: {
    maxFrameBytes: 64 * 1024,
    maxBackpressureBytes: 1024 * 1024,
    idleTimeoutSec: 60,
    wsRatePerSec: 50,
    wsBurst: 100,
    wsFloodCloseAfter: 50,
    wsPerIp: 1000,
    wsPerUser: 20,
    httpRatePerIp: 50,
    httpBurstPerIp: 100,
    httpRatePerUser: 20,
    httpBurstPerUser: 40,
    authRatePerIp: 2,
    authBurstPerIp: 10,
    maxBodyBytes: 1024 * 1024,
    corsOrigins: ["*"],
    drainTimeoutMs: 10_000,
    trustProxy: false,
    trustedProxies: [],
    metricsToken: "",
    allowUwsFallback: false,
    tlsCertFile: "",
    tlsKeyFile: "",
    publicUrl: "",
    edgeOrigin: "",
    edgeMemoryBytes: 256 * 1024 ** 2,
    edgeDiskBytes: 2 * 1024 ** 3,
  },
  rooms: {
    historySize: 100,
    logKeep: 1000,
    chatMaxLength: 500,
    chatRatePerSec: 1,
    chatBurst: 5,
    reactionWindowMs: 200,
    presenceDebounceMs: 500,
    leaseTtlMs: 10_000,
    idleUnloadMs: 60_000,
    fanoutBatchMs: 10,
  },
  media: {
    workers: 0,
    listenIp: "127.0.0.1",
    announcedAddress: "",
    rtcPort: 44440,
    maxConsumersPerRouter: 500,
    maxViewersPerNode: 0,
    initialOutgoingBitrate: 1_000_000,
    broadcasterGraceMs: 30_000,
    mediaTimeoutMs: 10_000,
    sessionConnectTimeoutMs: 15_000,
    whepPerUser: 4,
    whepPerIp: 20,
    liveHls: true,
    recordLive: true,
    workerLogLevel: "warn",
  },
  vod: {
    maxUploadBytes: 2 * 1024 ** 3,
    maxActiveUploadsPerCreator: 3,
    maxPendingBytesPerCreator: 4 * 1024 ** 3,
    maxQueuedJobsPerCreator: 5,
    uploadChunkMaxBytes: 16 * 1024 ** 2,
    maxDurationSec: 4 * 3600,
    maxWidth: 4096,
    maxHeight: 2160,
    encoderConcurrency: 0,
    jobLeaseMs: 15_000,
    maxAttempts: 3,
    playbackUrlTtlSec: 600,
  },
  analytics: {
    clickhouseUrl: "",
    clickhouseDatabase: "echostreamhub",
    batchMaxEvents: 100_000,
    flushMs: 200,
    backlogMaxBytes: 1024 ** 3,
    ackWaitMs: 60_000,
    alertsFile: "analytics/alerts.json",
    alertIntervalMs: 10_000,
    alertWebhookUrl: "",
    queryMaxRows: 10_000,
    queryMaxSeconds: 10,
    queryMaxMemoryBytes: 2 * 1024 ** 3,
    nodeLoadIntervalMs: 10_000,
  },
  recs: {
    retrainMs: 600_000,
    firstTrainMs: 5_000,
    windowDays: 30,
    dim: 48,
    epochs: 12,
    cacheMs: 60_000,
    keepVersions: 3,
    trainer: true,
  },
  broker: {
    requestTimeoutMs: 10_000,
    retries: 2,
    heartbeatIntervalSec: 5,
    heartbeatTimeoutSec: 15,
    bulkheadConcurrency: 64,
    bulkheadMaxQueue: 1000,
    tracingExporter: "none",
    tracingSampleRate: 0.1,
    otlpUrl: "",
  },
};

type Kind =
  | { t: "int"; min: number; max: number }
  | { t: "num"; min: number; max: number }
  | { t: "bool" }
  | { t: "str" }
  | { t: "enum"; values: readonly string[] }
  | { t: "list"; values?: readonly string[] };

interface Setting {
  path: string;
  env: string;
  alias?: string;
  kind: Kind;
}

const int = (min: number, max: number): Kind => ({ t: "int", min, max });
const BIG = Number.MAX_SAFE_INTEGER;

/** Every setting, its variable and its constraints. Paths mirror AppConfig. */
const SETTINGS: Setting[] = [
  s("port", int(0, 65535), "PORT"),
  s("host", { t: "str" }, "HOST"),
  s("dataDir", { t: "str" }, "DATA_DIR"),
  s("natsUrl", { t: "str" }, "NATS_URL"),
  s("services", { t: "list", values: SERVICE_NAMES }, "SERVICES"),
  s("nodeId", { t: "str" }, "NODE_ID"),
  s("namespace", { t: "str" }),
  s("logLevel", { t: "enum", values: LOG_LEVELS }, "LOG_LEVEL"),
  s("logFormat", { t: "enum", values: LOG_FORMATS }, "LOG_FORMAT"),
  s("opsPort", { t: "int", min: 0, max: 65535 }, "OPS_PORT"),
  s("store", { t: "enum", values: ["", ...STORE_KINDS] }),
  s("storeReplicas", int(1, 5)),
  s("auth.accessTtlSec", int(5, 86400)),
  s("auth.refreshTtlSec", int(60, 365 * 86400)),
  s("auth.guestTtlSec", int(5, 7 * 86400)),
  s("auth.scryptCost", int(1024, 1 << 20)),
  s("auth.keyGraceSec", int(5, 7 * 86400)),
  s("auth.openCreatorSignup", { t: "bool" }),
  s("auth.adminUser", { t: "str" }, "ADMIN_USER"),
  s("auth.adminPassword", { t: "str" }, "ADMIN_PASSWORD"),
  s("gateway.maxFrameBytes", int(256, 16 << 20)),
  s("gateway.maxBackpressureBytes", int(1024, 1 << 30)),
  s("gateway.idleTimeoutSec", int(8, 960)),
  s("gateway.wsRatePerSec", { t: "num", min: 0.1, max: 1e6 }),
  s("gateway.wsBurst", int(1, 1e6)),
  s("gateway.wsFloodCloseAfter", int(1, 1e6)),
  s("gateway.wsPerIp", int(1, 10_000_000)),
  s("gateway.wsPerUser", int(1, 10_000_000)),
  s("gateway.httpRatePerIp", { t: "num", min: 0.1, max: 1e6 }),
  s("gateway.httpBurstPerIp", int(1, 1e6)),
  s("gateway.httpRatePerUser", { t: "num", min: 0.1, max: 1e6 }),
  s("gateway.httpBurstPerUser", int(1, 1e6)),
  s("gateway.authRatePerIp", { t: "num", min: 0.01, max: 1e6 }),
  s("gateway.authBurstPerIp", int(1, 1e6)),
  s("gateway.maxBodyBytes", int(64, 1 << 30)),
  s("gateway.corsOrigins", { t: "list" }),
  s("gateway.drainTimeoutMs", int(0, 600_000)),
  s("gateway.trustProxy", { t: "bool" }),
  s("gateway.trustedProxies", { t: "list" }),
  s("gateway.metricsToken", { t: "str" }),
  s("gateway.allowUwsFallback", { t: "bool" }, "UWS_ALLOW_FALLBACK"),
  s("gateway.tlsCertFile", { t: "str" }, "TLS_CERT_FILE"),
  s("gateway.tlsKeyFile", { t: "str" }, "TLS_KEY_FILE"),
  s("gateway.publicUrl", { t: "str" }, "PUBLIC_URL"),
  s("gateway.edgeOrigin", { t: "str" }),
  s("gateway.edgeMemoryBytes", int(0, 2 ** 40)),
  s("gateway.edgeDiskBytes", int(0, 2 ** 50)),
  s("rooms.historySize", int(1, 10_000)),
  s("rooms.logKeep", int(1, 1_000_000)),
  s("rooms.chatMaxLength", int(1, 10_000)),
  s("rooms.chatRatePerSec", { t: "num", min: 0.01, max: 1000 }),
  s("rooms.chatBurst", int(1, 1000)),
  s("rooms.reactionWindowMs", int(20, 5000)),
  s("rooms.presenceDebounceMs", int(50, 60_000)),
  s("rooms.leaseTtlMs", int(1000, 600_000)),
  s("rooms.idleUnloadMs", int(1000, 86_400_000)),
  s("rooms.fanoutBatchMs", int(0, 20)),
  s("media.workers", int(0, 256)),
  s("media.listenIp", { t: "str" }),
  s("media.announcedAddress", { t: "str" }),
  s("media.rtcPort", int(0, 65000)),
  s("media.maxConsumersPerRouter", int(1, 100_000)),
  s("media.maxViewersPerNode", int(0, 10_000_000)),
  s("media.initialOutgoingBitrate", int(100_000, 100_000_000)),
  s("media.broadcasterGraceMs", int(0, 3_600_000)),
  s("media.mediaTimeoutMs", int(1000, 3_600_000)),
  s("media.sessionConnectTimeoutMs", int(1000, 3_600_000)),
  s("media.whepPerUser", int(1, 10_000)),
  s("media.whepPerIp", int(1, 100_000)),
  s("media.liveHls", { t: "bool" }),
  s("media.recordLive", { t: "bool" }),
  s("media.workerLogLevel", { t: "enum", values: ["debug", "warn", "error", "none"] }),
  s("vod.maxUploadBytes", int(1024, 2 ** 50)),
  s("vod.maxActiveUploadsPerCreator", int(1, 100_000)),
  s("vod.maxPendingBytesPerCreator", int(1024, 2 ** 50)),
  s("vod.maxQueuedJobsPerCreator", int(1, 100_000)),
  s("vod.uploadChunkMaxBytes", int(64 * 1024, 2 ** 30)),
  s("vod.maxDurationSec", int(1, 7 * 86400)),
  s("vod.maxWidth", int(16, 16384)),
  s("vod.maxHeight", int(16, 16384)),
  s("vod.encoderConcurrency", int(0, 256)),
  s("vod.jobLeaseMs", int(1000, 3_600_000)),
  s("vod.maxAttempts", int(1, 100)),
  s("vod.playbackUrlTtlSec", int(10, 7 * 86400)),
  s("analytics.clickhouseUrl", { t: "str" }, "CLICKHOUSE_URL"),
  s("analytics.clickhouseDatabase", { t: "str" }),
  s("analytics.batchMaxEvents", int(1, 10_000_000)),
  s("analytics.flushMs", int(10, 60_000)),
  s("analytics.backlogMaxBytes", int(1 << 20, 2 ** 50)),
  s("analytics.ackWaitMs", int(1000, 3_600_000)),
  s("analytics.alertsFile", { t: "str" }),
  s("analytics.alertIntervalMs", int(200, 3_600_000)),
  s("analytics.alertWebhookUrl", { t: "str" }),
  s("analytics.queryMaxRows", int(1, 1_000_000)),
  s("analytics.queryMaxSeconds", int(1, 3600)),
  s("analytics.queryMaxMemoryBytes", int(1 << 20, 2 ** 40)),
  s("analytics.nodeLoadIntervalMs", int(100, 3_600_000)),
  s("recs.retrainMs", int(1000, 7 * 86_400_000)),
  s("recs.firstTrainMs", int(0, 3_600_000)),
  s("recs.windowDays", int(1, 3650)),
  s("recs.dim", int(4, 512)),
  s("recs.epochs", int(1, 1000)),
  s("recs.cacheMs", int(0, 86_400_000)),
  s("recs.keepVersions", int(1, 100)),
  s("recs.trainer", { t: "bool" }),
  s("broker.requestTimeoutMs", int(100, 600_000)),
  s("broker.retries", int(0, 10)),
  s("broker.heartbeatIntervalSec", int(1, 600)),
  s("broker.heartbeatTimeoutSec", int(2, 3600)),
  s("broker.bulkheadConcurrency", int(1, BIG)),
  s("broker.bulkheadMaxQueue", int(1, BIG)),
  s("broker.tracingExporter", { t: "enum", values: TRACING_EXPORTERS }),
  s("broker.tracingSampleRate", { t: "num", min: 0, max: 1 }),
  s("broker.otlpUrl", { t: "str" }),
];

function s(p: string, kind: Kind, alias?: string): Setting {
  const env = "ESH_" + p.replace(/\./g, "_").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
  return alias === undefined ? { path: p, env, kind } : { path: p, env, alias, kind };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Builds the config: defaults -> CONFIG_FILE -> env -> validation. Throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const cfg = structuredClone(DEFAULTS);
  const tree = cfg as unknown as Tree; // the settings table keeps paths and types in step
  const file = env.CONFIG_FILE;
  if (file) applyFile(tree, readJson(file));
  applyEnv(tree, env);
  return finish(cfg);
}

type Tree = Record<string, unknown>;

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

/** The table of settings, for docs and `--help`. */
export function describeSettings(): { path: string; env: string; alias?: string }[] {
  return SETTINGS.map(({ path: p, env, alias }) => (alias ? { path: p, env, alias } : { path: p, env }));
}
