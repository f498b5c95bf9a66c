/**
 * The gateway of one node, as a composition root: a uWS app serving the HTTP API, /ws, health,
 * metrics and the web app. It verifies tokens itself from the sessions actor's public keys (no
 * RPC per request) and honours revocations broadcast by the sessions actor. Each concern lives
 * in its own module: the HTTP pipeline (http/pipeline.ts), files (http/files.ts), WebSockets
 * (ws/hub.ts), rooms, media and analytics edges, key sync (auth-sync.ts), edges (edges.ts).
 *
 * Owner of: the listen socket, the WsHub (and so every WebSocket), the token verifier.
 * drain() closes them in order: stop listening -> tell WebSockets to reconnect elsewhere ->
 * wait for in-flight HTTP requests (bounded by drainTimeoutMs).
 */
import type { BlobStore } from "../blobs/index.js";
import { BlobReader } from "./http/blob-reader.js";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TemplatedApp, us_listen_socket } from "@trufflesuite/uws-js-unofficial";
import type { LoggerInstance, ServiceBroker } from "moleculer";
import type { AppConfig } from "../lib/config.js";
import { AppError, hasCode } from "../lib/errors.js";
import type { IngestGrant } from "../protocol/ingest.js";
import type { Caller, Principal } from "../lib/identity.js";
import { traceContext } from "../lib/logging.js";
import { prometheusText } from "../lib/prometheus.js";
import { RevocationList, type Revocation } from "../lib/revocations.js";
import { TokenVerifier, type PublicKey } from "../lib/tokens.js";
import { CLOSE } from "../protocol/close-codes.js";
import { AuthSync } from "./auth-sync.js";
import { EdgeDirectory, pageHeaders } from "./edges.js";
import { EdgeCache } from "./http/edge-cache.js";
import { FileServer } from "./http/files.js";
import { MediaAccess, type StreamView } from "./http/media-access.js";
import { PlaybackSigner } from "./http/playback.js";
import { HttpPipeline } from "./http/pipeline.js";
import { Router } from "./http/router.js";
import { analyticsRoutes } from "./http/routes-analytics.js";
import { apiRoutes } from "./http/routes-api.js";
import { mediaRoutes } from "./http/routes-media.js";
import { ingestRoutes } from "./http/routes-ingest.js";
import { systemRoutes } from "./http/routes-system.js";
import { vodRoutes } from "./http/routes-vod.js";
import { registerGatewayMetrics } from "./metrics.js";
import { Realtime } from "./realtime.js";
import { loadUws, type Uws } from "./uws.js";

const APP_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "web", "app", "dist");
const VERSION = "0.1.0";

export class Gateway {
  readonly #cfg: AppConfig;
  readonly #broker: ServiceBroker;
  readonly #log: LoggerInstance;
  readonly #revocations = new RevocationList();
  readonly #verifier: TokenVerifier;
  readonly #auth: AuthSync;
  readonly #edges: EdgeDirectory;
  readonly #edgeCache: EdgeCache | undefined;
  readonly #mediaAccess: MediaAccess;
  readonly #reader: BlobReader;
  readonly #rt: Realtime;
  readonly #http: HttpPipeline;
  #uws: Uws | undefined;
  #listen: us_listen_socket | undefined;
  #port = 0;
  #draining = false;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(cfg: AppConfig, broker: ServiceBroker, blobs: BlobStore) {
    this.#cfg = cfg;
    this.#broker = broker;
    this.#log = broker.getLogger("gateway");
    const g = cfg.gateway;
    this.#verifier = new TokenVerifier({ fetchKeys: () => broker.call<PublicKey[]>("sessions.jwks") }, this.#revocations);
    this.#auth = new AuthSync({ verifier: this.#verifier, log: this.#log, fetchRevocations: () => broker.call<Revocation[]>("sessions.revocations"), onRevoked: (l) => this.onRevoked(l), sessionsAvailable: () => broker.registry.actions.isAvailable("sessions.jwks") });
    this.#edges = new EdgeDirectory({ announceAs: g.edgeOrigin ? g.publicUrl || undefined : undefined, connections: () => this.#rt.hub.size, broadcast: (e) => void broker.broadcast("edges.load", e, { groups: ["gateway"] }).catch(() => undefined) });
    this.#edgeCache = g.edgeOrigin ? new EdgeCache(g.edgeOrigin, cfg.dataDir, g.edgeMemoryBytes, g.edgeDiskBytes) : undefined;
    this.#reader = new BlobReader(blobs, cfg.blobs.readCacheBytes);
    let secret: Promise<string> | undefined;
    const signer = new PlaybackSigner(() => {
      secret ??= broker.call<string>("sessions.playbackSecret");
      secret.catch(() => (secret = undefined)); // fetched again on the next use
      return secret;
    }, cfg.vod.playbackUrlTtlSec);
    this.#mediaAccess = new MediaAccess({
      lookup: async (id) => {
        try {
          return await broker.call<StreamView, { id: string }>("streams.get", { id });
        } catch (err) {
          if (hasCode(err, "NOT_FOUND")) return undefined;
          throw err;
        }
      },
      verifyPlayback: (id, pt) => signer.verify(id, pt),
      verifyToken: (token) => this.#verifier.verify(token),
    });
    const asUser = (action: string, params: Record<string, unknown>, principal: Principal, nodeID?: string) => this.#callActor(action, params, { kind: "user", principal }, nodeID);
    this.#rt = new Realtime({
      cfg, broker, log: this.#log, asUser,
      verify: (token) => this.#verifier.verify(token),
      verifySync: (token) => this.#verifier.verifySync(token),
      mayWatch: (streamId, principal) => this.#mediaAccess.watchable(streamId, principal),
      onSecurityReject: (code, who) => this.#http.securityReject(code, { ip: who.ip, user: who.userId, via: "ws", what: who.what }),
    });
    const router = new Router();
    this.#http = new HttpPipeline({
      cfg, broker, router, verifier: this.#verifier,
      draining: () => this.#draining,
      onRequest: () => this.#edges.served(),
      checkStreamKey: async (key) => {
        const g = await broker.call<IngestGrant, { key: string }>("streams.checkIngestKey", { key }).catch((err: unknown) => {
          throw hasCode(err, "FORBIDDEN") ? new AppError("UNAUTHENTICATED", "Wrong, rotated or revoked stream key") : err;
        });
        return { userId: g.ownerId, name: g.ownerName, role: g.ownerRole, guest: false, sid: `ingest:${g.streamId}`, exp: Math.floor(Date.now() / 1000) + 300 };
      },
      serveFile: (ex) => files.serve(ex),
    });
    const files = new FileServer({ reader: this.#reader, appDir: APP_DIR, edge: this.#edgeCache, access: this.#mediaAccess, signer, pageHeaders: () => pageHeaders(this.#edges.origins()) });
    router.add(
      ...systemRoutes({ nodeId: broker.nodeID, version: VERSION, metricsToken: g.metricsToken, routes: () => router.routes, metricsText: () => prometheusText(broker), ready: () => this.#ready() }),
      ...apiRoutes((action, params, principal, ctx) => this.#callActor(action, params, principal ? { kind: "user", principal } : { kind: "anonymous", ip: ctx.ex.head.ip })),
      ...mediaRoutes(broker.nodeID, asUser),
      ...ingestRoutes({ call: asUser, rtmpPort: cfg.media.rtmpPort, srtPort: cfg.media.srtPort, ingestHost: cfg.media.ingestHost }),
      ...vodRoutes({ blobs, call: asUser, callInternal: (a, p) => broker.call(a, p), signer, pickEdge: () => this.#edges.pick() }),
      ...analyticsRoutes({ edge: this.#rt.events, verify: (token) => this.#verifier.verify(token), call: asUser }),
    );
    this.#timers.push(...registerGatewayMetrics(broker.metrics, () => this.#rt.hub.size, this.#edgeCache, this.#reader));
  }

  get port(): number {
    return this.#port;
  }

  get scheme(): "http" | "https" {
    return this.#cfg.gateway.tlsCertFile ? "https" : "http";
  }

  async start(): Promise<void> {
    const loaded = loadUws(this.#cfg.gateway.allowUwsFallback);
    if (loaded.native) this.#log.info(loaded.implementation);
    else this.#log.warn(loaded.implementation);
    this.#uws = loaded.uws;
    const { tlsCertFile, tlsKeyFile } = this.#cfg.gateway;
    const app = tlsCertFile ? loaded.uws.SSLApp({ cert_file_name: tlsCertFile, key_file_name: tlsKeyFile }) : loaded.uws.App();
    this.#rt.attach(app);
    app.any("/*", (res, req) => this.#http.handle(res, req));
    this.#port = await this.#listenOn(app);
    this.#auth.sync();
    this.#timers.push(setInterval(() => this.#auth.sync(), 5_000), setInterval(() => this.#sweep(), 60_000), setInterval(() => this.#edges.announce(), 2_000));
    for (const t of this.#timers) t.unref();
    this.#rt.start();
    this.#log.info(`listening on ${this.scheme}://${this.#cfg.host}:${this.#port} (WebSocket at /ws)`);
  }

  async drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    for (const t of this.#timers) clearInterval(t);
    this.#auth.stop();
    if (this.#listen && this.#uws) this.#uws.us_listen_socket_close(this.#listen);
    this.#listen = undefined;
    const ws = this.#rt.drain();
    const deadline = Date.now() + this.#cfg.gateway.drainTimeoutMs;
    while (this.#http.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.#log.info(`drained (${ws} WebSocket(s) told to reconnect elsewhere, ${this.#http.inflight} request(s) cut off)`);
  }

  // Events from the cluster (gateway.service.ts).

  /** sessions.revoked, on every node. */
  onRevoked(list: Revocation[]): void {
    this.#revocations.add(list);
    const closed = this.#rt.hub.closeSessions(new Set(list.map((r) => r.sid)), CLOSE.SESSION_REVOKED, "session revoked");
    if (closed > 0) this.#log.info(`closed ${closed} WebSocket(s) of revoked sessions`);
  }

  onKeysChanged(): void {
    this.#auth.onKeysChanged();
  }

  onServicesChanged(): void {
    this.#auth.onServicesChanged();
  }

  /** The WebSocket side: room broadcasts, media notices, encode progress and alerts go there. */
  get realtime(): Realtime {
    return this.#rt;
  }

  /** A stream was deleted or its visibility changed: what this gateway knew of it, and what this
   *  edge cached of its files, is dropped now. */
  onStreamChanged(id: string): void {
    this.#mediaAccess.forget(id);
    this.#edgeCache?.purge(`/vod/${id}/`);
    this.#edgeCache?.purge(`/live/${id}/`);
    this.#reader.purge(`vod/${id}/`);
    this.#reader.purge(`live/${id}/`);
  }

  /** edges.load: an edge gateway's public URL and load. */
  onEdgeLoad(e: { url: string; load: number }): void {
    this.#edges.heard(e);
  }

  #listenOn(app: TemplatedApp): Promise<number> {
    return new Promise((resolve, reject) => {
      app.listen(this.#cfg.host, this.#cfg.port, (socket) => {
        if (!socket || !this.#uws) return reject(new Error(`cannot listen on ${this.#cfg.host}:${this.#cfg.port}`));
        this.#listen = socket;
        resolve(this.#uws.us_socket_local_port(socket)); // a listen socket is a socket
      });
    });
  }

  #sweep(): void {
    this.#revocations.sweep();
    this.#http.sweep();
  }

  /** Calls carry the request's id as their Moleculer request id: the trace id in spans and logs. */
  #callActor(action: string, params: Record<string, unknown>, caller: Caller, nodeID?: string): Promise<unknown> {
    const requestID = traceContext.getStore()?.traceId;
    const opts = { meta: { caller, ...(requestID ? { requestId: requestID } : {}) }, ...(requestID ? { requestID } : {}) };
    return this.#broker.call(action, params, nodeID === undefined ? opts : { ...opts, nodeID });
  }

  #ready(): { ok: boolean; detail: Record<string, unknown> } {
    const sessions = this.#broker.registry.actions.isAvailable("sessions.jwks");
    const ok = !this.#draining && this.#auth.keysLoaded && sessions;
    return { ok, detail: { draining: this.#draining, keysLoaded: this.#auth.keysLoaded, sessionsReachable: sessions, connections: this.#rt.hub.size } };
  }
}
