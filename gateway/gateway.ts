/**
 * The gateway of one node: a uWS app serving the HTTP API, /ws, health, metrics and the web
 * apps. It verifies tokens itself from the sessions actor's public keys (no RPC per request)
 * and honours revocations broadcast by the sessions actor.
 *
 * Owner of: the listen socket, the WsHub (and so every WebSocket), the token verifier.
 * drain() closes them in order: stop listening -> tell WebSockets to reconnect elsewhere ->
 * wait for in-flight HTTP requests (bounded by drainTimeoutMs).
 */
import { timingSafeEqual } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from "@trufflesuite/uws-js-unofficial";
import type { LoggerInstance, ServiceBroker } from "moleculer";
import type { AppConfig } from "../lib/config.js";
import { AppError, hasCode, httpStatusOf, toErrorBody } from "../lib/errors.js";
import type { Caller, Principal } from "../lib/identity.js";
import { SecurityLog, traceContext, withTrace, type SecurityEventName } from "../lib/logging.js";
import { RevocationList, type Revocation } from "../lib/revocations.js";
import { TokenVerifier, type PublicKey } from "../lib/tokens.js";
import { CLOSE } from "../protocol/close-codes.js";
import { Exchange, readHead } from "./http/exchange.js";
import { openApiDocument } from "./http/openapi.js";
import { apiRoutes } from "./http/routes-api.js";
import { Router, type Route, type RouteContext } from "./http/router.js";
import { StaticFiles } from "./http/static.js";
import { MAX_SDP_BYTES } from "../protocol/media.js";
import { mediaRoutes } from "./http/routes-media.js";
import { vodRoutes } from "./http/routes-vod.js";
import { VodFiles, vodPath, type FileAnswer } from "./http/vod-files.js";
import { EdgeCache } from "./http/edge-cache.js";
import { PlaybackSigner, signPlaylist } from "./http/playback.js";
import type { EncodeProgress } from "../actors/encoders/encoders.service.js";
import { prometheusText } from "../lib/prometheus.js";
import { RateLimiter } from "../lib/rate-limit.js";
import { proxyTrust, type ProxyTrust } from "./http/client-ip.js";
import { MediaAccess, type StreamView } from "./http/media-access.js";
import { loadUws, type Uws } from "./uws.js";
import { WsHub } from "./ws/hub.js";
import { RoomsEdge } from "./rooms-edge.js";
import { MediaEdge } from "./media-edge.js";
import { AnalyticsEdge } from "./analytics-edge.js";
import { analyticsRoutes } from "./http/routes-analytics.js";
import type { Alert } from "../analytics/alerts.js";
import type { MediaOut } from "../protocol/media.js";
import type { RoomOut } from "../protocol/rooms.js";

const WEB_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "web");
const VERSION = "0.1.0";

export class Gateway {
  readonly #cfg: AppConfig;
  readonly #broker: ServiceBroker;
  readonly #log: LoggerInstance;
  readonly #sec: SecurityLog;
  readonly #router = new Router();
  readonly #revocations = new RevocationList();
  readonly #verifier: TokenVerifier;
  readonly #hub: WsHub;
  readonly #rooms: RoomsEdge;
  readonly #media: MediaEdge;
  readonly #events: AnalyticsEdge;
  /** The web app (web/app, built by `npm run build:web`): its files, and index.html for its routes. */
  readonly #app = new StaticFiles(path.join(WEB_ROOT, "app", "dist"));
  readonly #vod: VodFiles;
  readonly #live: VodFiles;
  readonly #edge: EdgeCache | undefined;
  readonly #signer: PlaybackSigner;
  /** Edge gateways heard from (event edges.load): public URL -> load and when. */
  readonly #edges = new Map<string, { load: number; at: number }>();
  #servedSinceReport = 0;
  #playbackSecret: Promise<string> | undefined;
  readonly #ipLimiter: RateLimiter;
  readonly #userLimiter: RateLimiter;
  readonly #authLimiter: RateLimiter;
  readonly #trust: ProxyTrust;
  readonly #mediaAccess: MediaAccess;
  #uws: Uws | undefined;
  #listen: us_listen_socket | undefined;
  #port = 0;
  #inflight = 0;
  #draining = false;
  #keysLoaded = false;
  #timers: NodeJS.Timeout[] = [];

  constructor(cfg: AppConfig, broker: ServiceBroker) {
    this.#cfg = cfg;
    this.#broker = broker;
    this.#log = broker.getLogger("gateway");
    this.#sec = SecurityLog.of(broker);
    this.#vod = new VodFiles(cfg.dataDir);
    this.#live = new VodFiles(cfg.dataDir, "live");
    this.#signer = new PlaybackSigner(() => {
      this.#playbackSecret ??= this.#internal<string>("sessions.playbackSecret");
      this.#playbackSecret.catch(() => (this.#playbackSecret = undefined));
      return this.#playbackSecret;
    }, cfg.vod.playbackUrlTtlSec);
    this.#edge = cfg.gateway.edgeOrigin ? new EdgeCache(cfg.gateway.edgeOrigin, cfg.dataDir, cfg.gateway.edgeMemoryBytes, cfg.gateway.edgeDiskBytes) : undefined;
    const g = cfg.gateway;
    this.#ipLimiter = new RateLimiter(g.httpRatePerIp, g.httpBurstPerIp);
    this.#userLimiter = new RateLimiter(g.httpRatePerUser, g.httpBurstPerUser);
    this.#authLimiter = new RateLimiter(g.authRatePerIp, g.authBurstPerIp);
    this.#trust = proxyTrust(g.trustProxy, g.trustedProxies);
    this.#mediaAccess = new MediaAccess({
      lookup: (id) => this.#broker.call<StreamView, { id: string }>("streams.get", { id }).catch((err: unknown) => {
        if (hasCode(err, "NOT_FOUND")) return undefined;
        throw err;
      }),
      verifyPlayback: (id, pt) => this.#signer.verify(id, pt),
      verifyToken: (token) => this.#verifier.verify(token),
    });
    this.#verifier = new TokenVerifier({ fetchKeys: () => this.#internal<PublicKey[]>("sessions.jwks") }, this.#revocations);
    this.#rooms = new RoomsEdge({
      nodeId: broker.nodeID,
      batchMs: cfg.rooms.fanoutBatchMs,
      reactionFlushMs: Math.max(20, Math.floor(cfg.rooms.reactionWindowMs / 2)),
      callInternal: (action, params) => this.#broker.call(action, params),
      onError: (what, err) => this.#log.debug(`rooms ${what} failed: ${String(err)}`),
      onRepaired: (room, n) => {
        broker.metrics.increment("esh.gateway.room.gaps.repaired.total", {}, 1);
        this.#log.info({ room, events: n }, `room ${room}: ${n} lost broadcast event(s) fetched from the owner`);
      },
    });
    this.#media = new MediaEdge({
      nodeId: broker.nodeID,
      call: (action, params, principal, nodeID) => this.#callActor(action, params, { kind: "user", principal }, nodeID),
      callInternal: (action, params, nodeID) => this.#broker.call(action, params, { nodeID }),
      onError: (what, err) => this.#log.debug(`media ${what} failed: ${String(err)}`),
    });
    this.#events = new AnalyticsEdge(cfg, broker, () => this.#hub.size);
    this.#hub = new WsHub(g, {
      rooms: this.#rooms,
      media: this.#media,
      events: this.#events,
      call: (action, params, principal) => this.#callActor(action, params, { kind: "user", principal }),
      verify: (token) => this.#verifier.verify(token),
      mayWatch: (streamId, principal) => this.#mediaAccess.watchable(streamId, principal),
      verifySync: (token) => this.#verifier.verifySync(token),
      nodeId: broker.nodeID,
    }, {
      onReject: (code, who) => {
        broker.metrics.increment("esh.gateway.rejects.total", { code });
        if (who) this.#securityReject(code, { ip: who.ip, user: who.userId, via: "ws", what: who.what });
      },
      onMessage: (type) => broker.metrics.increment("esh.gateway.ws.messages.total", { type }),
      onError: (err) => this.#log.error("WebSocket handler failed", err),
    });
    this.#router.add(
      ...this.#systemRoutes(),
      ...apiRoutes((action, params, principal, ctx) => this.#callActor(action, params, this.#caller(principal, ctx))),
      ...mediaRoutes(broker.nodeID, (action, params, principal, nodeID) => this.#callActor(action, params, { kind: "user", principal }, nodeID)),
      ...vodRoutes({
        dataDir: cfg.dataDir,
        call: (action, params, principal) => this.#callActor(action, params, { kind: "user", principal }),
        callInternal: (action, params) => this.#broker.call(action, params),
        signer: this.#signer,
        pickEdge: () => this.#pickEdge(),
      }),
      ...analyticsRoutes({
        edge: this.#events,
        verify: (token) => this.#verifier.verify(token),
        call: (action, params, principal) => this.#callActor(action, params, { kind: "user", principal }),
      }),
    );
    this.#registerMetrics();
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
    app.ws("/ws", this.#hub.behavior());
    this.#rooms.attach(app);
    this.#media.attach(app);
    app.any("/*", (res, req) => this.#handle(res, req));
    this.#port = await this.#listenOn(app);
    this.#syncAuthState();
    this.#timers.push(setInterval(() => this.#syncAuthState(), 5_000), setInterval(() => this.#sweep(), 60_000), setInterval(() => this.#announceEdge(), 2_000));
    for (const t of this.#timers) t.unref();
    this.#events.start();
    this.#log.info(`listening on ${this.scheme}://${this.#cfg.host}:${this.#port} (WebSocket at /ws)`);
  }

  /** Called by the sessions.revoked event on every node. */
  onRevoked(list: Revocation[]): void {
    this.#revocations.add(list);
    const closed = this.#hub.closeSessions(new Set(list.map((r) => r.sid)), CLOSE.SESSION_REVOKED, "session revoked");
    if (closed > 0) this.#log.info(`closed ${closed} WebSocket(s) of revoked sessions`);
  }

  /** A room owner's broadcast: fan out to this node's members of the room. */
  onRoomOut(out: RoomOut): void {
    this.#rooms.onRoomOut(out);
  }

  /** A stream was deleted or its visibility changed: what this gateway knew of it, and what this
   *  edge cached of its files, is dropped now. */
  onStreamChanged(id: string): void {
    this.#mediaAccess.forget(id);
    this.#edge?.purge(`/vod/${id}/`);
  }

  /** Called by the edges.load event: an edge gateway's public URL and load. */
  onEdgeLoad(e: { url: string; load: number }): void {
    this.#edges.set(e.url, { load: e.load, at: Date.now() });
  }

  /** Security headers of our pages: media and XHR reach this origin and the edges this cluster
   *  announced (playback URLs point viewers there), nothing else. */
  #pageHeaders(): Record<string, string> {
    const now = Date.now();
    const edges = [...this.#edges].filter(([, e]) => now - e.at < 60_000).flatMap(([url]) => {
      try {
        return [new URL(url).origin];
      } catch {
        return [];
      }
    });
    return pageHeaders([...new Set(edges)]);
  }

  /** The least-loaded edge heard from in the last 6 s, if any. */
  #pickEdge(): string | undefined {
    const now = Date.now();
    let best: [string, number] | undefined;
    for (const [url, e] of this.#edges) if (now - e.at < 6000 && (!best || e.load < best[1])) best = [url, e.load];
    return best?.[0];
  }

  /** Edge gateways announce themselves every 2 s with their load (requests/s + WebSockets). */
  #announceEdge(): void {
    const url = this.#cfg.gateway.publicUrl;
    if (!this.#edge || !url) return;
    const load = this.#servedSinceReport / 2 + this.#hub.size;
    this.#servedSinceReport = 0;
    this.#broker.broadcast("edges.load", { url, load }, { groups: ["gateway"] }).catch(() => undefined);
  }

  /** Called by the encoders.progress event: pushed to the owner's connections on this node. */
  onEncodeProgress(p: EncodeProgress): void {
    this.#hub.toUser(p.ownerId, { t: "encode.progress", d: { streamId: p.streamId, status: p.status, percent: p.percent, ...(p.error ? { error: p.error } : {}) } });
  }

  /** Called by the analytics.alert event: pushed to admin connections on this node. */
  onAlert(alert: Alert): void {
    this.#hub.toAdmins({ t: "alert", d: alert });
  }

  /** Called by the media.out event (a media node's notice for a stream). */
  onMediaOut(out: MediaOut, fromNode: string): void {
    this.#media.onOut(out, fromNode);
  }

  onKeysChanged(): void {
    void this.#verifier.refresh().catch((err: unknown) => this.#log.warn(`key refresh failed: ${String(err)}`));
  }

  onServicesChanged(): void {
    if (!this.#keysLoaded && this.#broker.registry.actions.isAvailable("sessions.jwks")) this.#syncAuthState();
  }

  async drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    for (const t of this.#timers) clearInterval(t);
    this.#rooms.stop();
    this.#events.stop();
    if (this.#listen && this.#uws) this.#uws.us_listen_socket_close(this.#listen);
    this.#listen = undefined;
    const ws = this.#hub.size;
    this.#hub.drain();
    const deadline = Date.now() + this.#cfg.gateway.drainTimeoutMs;
    while (this.#inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.#log.info(`drained (${ws} WebSocket(s) told to reconnect elsewhere, ${this.#inflight} request(s) cut off)`);
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

  /** Keys and revocations from the sessions actor: at start, on a timer, and after faults. */
  #syncAuthState(): void {
    void this.#verifier
      .refresh()
      .then(async () => {
        this.#keysLoaded = this.#verifier.keyCount > 0;
        // Through onRevoked, so sockets of a revocation whose event this node missed (it joined
        // moments before, or NATS was down) are closed too, not just refused next time.
        this.onRevoked(await this.#internal<Revocation[]>("sessions.revocations"));
      })
      .catch((err: unknown) => {
        this.#log.warn(`cannot sync keys/revocations yet (${(err as Error).message}); retrying`);
        const retry = setTimeout(() => this.#syncAuthState(), 500);
        retry.unref();
      });
  }

  #sweep(): void {
    this.#revocations.sweep();
    this.#ipLimiter.sweep();
    this.#userLimiter.sweep();
    this.#authLimiter.sweep();
  }

  #internal<T>(action: string): Promise<T> {
    return this.#broker.call(action, {});
  }

  #caller(principal: Principal | undefined, ctx: RouteContext): Caller {
    return principal ? { kind: "user", principal } : { kind: "anonymous", ip: ctx.ex.head.ip };
  }

  /** Calls carry the request's id as their Moleculer request id: the trace id in spans and logs. */
  #callActor(action: string, params: Record<string, unknown>, caller: Caller, nodeID?: string): Promise<unknown> {
    const requestID = traceContext.getStore()?.traceId;
    const opts = { meta: { caller, ...(requestID ? { requestId: requestID } : {}) }, ...(requestID ? { requestID } : {}) };
    return this.#broker.call(action, params, nodeID === undefined ? opts : { ...opts, nodeID });
  }

  #handle(res: HttpResponse, req: HttpRequest): void {
    const ex = new Exchange(res, readHead(res, req, this.#trust));
    this.#inflight++;
    this.#servedSinceReport++;
    const started = process.hrtime.bigint();
    ex.header("x-request-id", ex.requestId);
    void withTrace({ traceId: ex.requestId }, () => this.#serve(ex))
      .catch((err: unknown) => this.#fail(ex, err))
      .finally(() => {
        this.#inflight--;
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        this.#broker.metrics.observe("esh.gateway.http.request.time", ms);
      });
  }

  async #serve(ex: Exchange): Promise<void> {
    const h = ex.head;
    this.#cors(ex);
    ex.header("x-content-type-options", "nosniff").header("referrer-policy", "no-referrer");
    if (this.scheme === "https") ex.header("strict-transport-security", "max-age=31536000");
    if (this.#draining) {
      // Keep-alive clients would keep this node busy until the drain times out: answer a
      // retryable UNAVAILABLE and close their connection, so they go to another gateway.
      ex.closeAfter = true;
      throw new AppError("UNAVAILABLE", "This node is shutting down: retry on another");
    }
    if (h.method === "OPTIONS") return ex.send(204, "", { "access-control-max-age": "600" });
    const wait = this.#ipLimiter.take(h.ip);
    if (wait > 0) throw rateLimited(wait);
    const match = this.#router.match(h.method, h.url);
    if (!match) {
      if ((h.method === "GET" || h.method === "HEAD") && !h.url.startsWith("/api/")) return this.#serveStatic(ex);
      throw new AppError("NOT_FOUND", "No such route");
    }
    if ("allowed" in match) {
      ex.header("allow", match.allowed.join(", "));
      throw new AppError("METHOD_NOT_ALLOWED", `Use ${match.allowed.join(" or ")}`);
    }
    const { route, params } = match;
    if (route.authLimited) {
      const w = this.#authLimiter.take(h.ip);
      if (w > 0) throw rateLimited(w);
    }
    if (route.body === "octets" && ex.head.contentType.split(";")[0]?.trim().toLowerCase() !== "application/offset+octet-stream") {
      throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Send upload chunks as application/offset+octet-stream");
    }
    // uWS delivers the body right away: onData must be attached before the first await. Raw
    // bodies (upload chunks) wait for the token and the route's own check before being read.
    const authorize = route.authorize;
    const gate = this.#authenticate(ex, route).then(async (principal) => {
      if (authorize) await authorize({ ex, params, principal });
      return principal;
    });
    const pendingBody = route.body === "sdp" ? this.#sdpBody(ex) : route.body === "octets" ? this.#octetBody(ex, gate) : route.body ? this.#jsonBody(ex) : Promise.resolve(undefined);
    pendingBody.catch(() => undefined); // if authentication fails first, the body error is moot
    const principal = await gate;
    const body = await pendingBody;
    const result = await route.handler({ ex, params, principal, body });
    this.#broker.metrics.increment("esh.gateway.http.requests.total", { route: route.path, status: result.status ?? 200 });
    if (result.raw) ex.send(result.status ?? 200, result.raw.text, { "content-type": result.raw.type, "cache-control": "no-store", ...result.headers });
    else ex.json(result.status ?? 200, result.body ?? null, result.headers);
  }

  async #authenticate(ex: Exchange, route: Route): Promise<Principal | undefined> {
    if (route.auth === "none") return undefined;
    const auth = ex.head.authorization;
    if (!auth) {
      if (route.auth === "required") throw new AppError("UNAUTHENTICATED", "Authorization: Bearer <token> required");
      return undefined;
    }
    if (!/^bearer /i.test(auth)) throw new AppError("UNAUTHENTICATED", "Use Authorization: Bearer <token>");
    const principal = await this.#verifier.verify(auth.slice(7).trim());
    const wait = this.#userLimiter.take(principal.userId);
    if (wait > 0) throw rateLimited(wait);
    return principal;
  }

  async #jsonBody(ex: Exchange): Promise<unknown> {
    const type = ex.head.contentType.split(";")[0]?.trim().toLowerCase() ?? "";
    if (ex.head.contentLength === 0 || (type === "" && ex.head.contentLength === undefined)) return {};
    if (type !== "application/json") throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Send application/json");
    const raw = await ex.readBody(this.#cfg.gateway.maxBodyBytes);
    if (raw.length === 0) return {};
    try {
      return JSON.parse(raw.toString("utf8")) as unknown;
    } catch {
      throw new AppError("BAD_REQUEST", "Body is not valid JSON");
    }
  }

  #octetBody(ex: Exchange, gate: Promise<unknown>): Promise<Buffer> {
    return ex.readBody(this.#cfg.vod.uploadChunkMaxBytes, gate);
  }

  #playlistFile(url: string): Promise<FileAnswer | undefined> {
    const path = vodPath(url)?.path;
    return this.#edge && path ? this.#edge.get(path, "", "") : this.#vod.get(url, "", "");
  }

  async #sdpBody(ex: Exchange): Promise<string> {
    const type = ex.head.contentType.split(";")[0]?.trim().toLowerCase() ?? "";
    if (type !== "application/sdp") throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Send the SDP offer as application/sdp");
    return (await ex.readBody(MAX_SDP_BYTES)).toString("utf8");
  }

  async #serveStatic(ex: Exchange): Promise<void> {
    const url = ex.head.url;
    // Entitlement (media-access.ts) where the files are; an edge, which may stand outside the
    // cluster, forwards the viewer's credential and keeps only what its origin calls public.
    let privateFile = false;
    if (url.startsWith("/live/") || (url.startsWith("/vod/") && !this.#edge)) {
      const kind = url.startsWith("/live/") ? "live" : "vod";
      const id = vodPath(url, kind)?.id;
      if (!id) throw new AppError("NOT_FOUND", "No such file");
      privateFile = (await this.#mediaAccess.check(kind, id, ex.head)).private;
    }
    const unshared = (h: Record<string, string>) => (privateFile ? { ...h, "cache-control": "private, no-store" } : h);
    if (url.startsWith("/live/")) {
      const f = await this.#live.get(url, ex.head.extra.range, ex.head.extra["if-none-match"]);
      if (!f) throw new AppError("NOT_FOUND", "No such file");
      ex.send(f.status, f.body, unshared(f.headers));
      return;
    }
    if (url.startsWith("/vod/")) {
      const edgePath = this.#edge ? vodPath(url)?.path : undefined;
      if (this.#edge && !edgePath) throw new AppError("NOT_FOUND", "No such file");
      const credential = { pt: ex.head.query.get("pt"), authorization: ex.head.authorization };
      const f = this.#edge && edgePath ? await this.#edge.get(edgePath, ex.head.extra.range, ex.head.extra["if-none-match"], credential) : await this.#vod.get(url, ex.head.extra.range, ex.head.extra["if-none-match"]);
      if (!f) throw new AppError("NOT_FOUND", "No such file");
      const pt = ex.head.query.get("pt");
      if (pt !== null && url.endsWith(".m3u8")) {
        // A signed playlist: its variant and key URLs carry the signature; whole (players such as
        // ffmpeg ask for "bytes=0-"), never cached shared.
        if (!(await this.#signer.verify(vodPath(url)?.id ?? "", pt))) throw new AppError("FORBIDDEN", "The playback URL is invalid or expired");
        const whole = f.status === 200 ? f : await this.#playlistFile(url);
        if (!whole) throw new AppError("NOT_FOUND", "No such file");
        const headers = Object.fromEntries(Object.entries(whole.headers).filter(([k]) => k !== "content-range" && k !== "etag"));
        ex.send(200, signPlaylist(whole.body.toString("utf8"), pt), { ...headers, "cache-control": "private, no-store" });
        return;
      }
      ex.send(f.status, f.body, unshared(f.headers));
      return;
    }
    // The one web app lives at /app/; the bare origin leads there.
    if (url === "/" || url === "/index.html") return ex.send(302, "", { location: "/app/", "cache-control": "no-cache" });
    const file = url === "/app" || url.startsWith("/app/") ? await this.#appFile(url) : undefined;
    if (!file) throw new AppError("NOT_FOUND", "No such file");
    ex.send(200, file.body, { "content-type": file.type, "cache-control": "no-cache", ...(file.type.startsWith("text/html") ? this.#pageHeaders() : {}) });
  }

  async #appFile(url: string): Promise<{ body: Buffer; type: string } | undefined> {
    const rest = url.slice("/app".length) || "/";
    const file = await this.#app.get(rest);
    if (file) return file;
    // A route of the app (/app/search, /app/watch/x): its shell, which routes on the client.
    return path.extname(rest) === "" ? this.#app.get("/index.html") : undefined;
  }

  #cors(ex: Exchange): void {
    const origin = ex.head.origin;
    if (!origin) return;
    const allowed = this.#cfg.gateway.corsOrigins;
    if (!allowed.includes("*") && !allowed.includes(origin)) return;
    ex.header("access-control-allow-origin", allowed.includes("*") ? "*" : origin)
      .header("vary", "Origin")
      .header("access-control-allow-methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
      .header("access-control-allow-headers", ex.head.accessControlRequestHeaders || "authorization, content-type")
      .header("access-control-expose-headers", "location, retry-after, etag, content-range, upload-offset, upload-length, tus-resumable, x-request-id");
  }

  #fail(ex: Exchange, err: unknown): void {
    const body = toErrorBody(err);
    const requestId = ex.requestId;
    const status = httpStatusOf(body.code);
    this.#securityReject(body.code, { ip: ex.head.ip, via: "http", what: `${ex.head.method} ${ex.head.url.slice(0, 200)}`, trace_id: requestId });
    if (status >= 500) this.#log.error(`${ex.head.method} ${ex.head.url.slice(0, 200)} -> ${body.code} [${requestId}]`, err);
    else this.#log.info(`${ex.head.method} ${ex.head.url.slice(0, 200)} from ${ex.head.ip} -> ${status} ${body.code}`);
    this.#broker.metrics.increment("esh.gateway.rejects.total", { code: body.code });
    const headers: Record<string, string> = {};
    const retryAfter = body.data?.retryAfterSec;
    if (typeof retryAfter === "number") headers["retry-after"] = String(retryAfter);
    ex.json(status, { error: { ...body, requestId } }, headers);
  }

  /** Failed authentication, permission denials and rate-limit hits go to the security log. */
  #securityReject(code: string, fields: { ip: string; user?: string | undefined; via: string; what: string; trace_id?: string }): void {
    const event = SECURITY_EVENT_OF[code];
    if (event) this.#sec.event(event, { code, ...fields });
  }

  #systemRoutes(): Route[] {
    return [
      { method: "GET", path: "/healthz", auth: "none", summary: "Liveness: the process serves HTTP", handler: () => ({ body: { ok: true, nodeId: this.#broker.nodeID } }) },
      { method: "GET", path: "/readyz", auth: "none", summary: "Readiness: keys loaded, sessions reachable, not draining", handler: () => this.#ready() },
      { method: "GET", path: "/metrics", auth: "none", summary: "Prometheus metrics of this node (Bearer gateway.metricsToken; or on OPS_PORT)", handler: (ctx) => {
        this.#checkMetricsToken(ctx.ex.head.authorization);
        ctx.ex.send(200, prometheusText(this.#broker), { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        return {};
      } },
      { method: "GET", path: "/api/openapi.json", auth: "none", summary: "This document", handler: () => ({ body: openApiDocument(this.#router.routes, VERSION) }) },
    ];
  }

  /** Metrics tell a stranger the node's load, users and versions: the public port shows them
   *  only to the scraper holding the configured token. */
  #checkMetricsToken(authorization: string): void {
    const want = this.#cfg.gateway.metricsToken;
    if (!want) throw new AppError("NOT_FOUND", "/metrics is served on the ops port (OPS_PORT), or here with gateway.metricsToken");
    const got = Buffer.from(authorization.replace(/^Bearer\s+/i, ""));
    const ok = got.length === Buffer.byteLength(want) && timingSafeEqual(got, Buffer.from(want));
    if (!ok) throw new AppError("UNAUTHENTICATED", "Authorization: Bearer <metrics token> required");
  }

  #ready(): { status: number; body: unknown } {
    const sessions = this.#broker.registry.actions.isAvailable("sessions.jwks");
    const ok = !this.#draining && this.#keysLoaded && sessions;
    return { status: ok ? 200 : 503, body: { ready: ok, draining: this.#draining, keysLoaded: this.#keysLoaded, sessionsReachable: sessions, connections: this.#hub.size } };
  }

  #registerMetrics(): void {
    const m = this.#broker.metrics;
    m.register({ type: "gauge", name: "esh.gateway.ws.connections", description: "Open WebSocket connections" });
    AnalyticsEdge.registerMetrics(m);
    m.register({ type: "counter", name: "esh.gateway.ws.messages.total", labelNames: ["type"], description: "WebSocket messages received, by type" });
    m.register({ type: "counter", name: "esh.gateway.rejects.total", labelNames: ["code"], description: "Requests, frames and upgrades refused, by error code" });
    m.register({ type: "counter", name: "esh.gateway.room.gaps.repaired.total", description: "Gaps in a room's sequence (lost broadcasts) filled from the owner's history" });
    m.register({ type: "counter", name: "esh.gateway.http.requests.total", labelNames: ["route", "status"], description: "HTTP API requests answered" });
    m.register({ type: "histogram", name: "esh.gateway.http.request.time", unit: "millisecond", buckets: [1, 5, 10, 25, 50, 100, 250, 1000], description: "HTTP request time" });
    m.set("esh.gateway.ws.connections", 0);
    if (this.#edge) {
      const edge = this.#edge;
      for (const k of ["hits", "misses", "originFetches", "memoryBytes", "diskBytes"] as const) m.register({ type: "gauge", name: `esh.edge.${k}`, description: `Edge cache: ${k}` });
      const t = setInterval(() => {
        for (const k of ["hits", "misses", "originFetches", "memoryBytes", "diskBytes"] as const) m.set(`esh.edge.${k}`, edge.stats[k]);
      }, 500);
      t.unref();
      this.#timers.push(t);
    }
    const t = setInterval(() => m.set("esh.gateway.ws.connections", this.#hub.size), 1000);
    t.unref();
    this.#timers.push(t);
  }
}

/**
 * Our pages load only our own scripts (no inline script), may not be framed (clickjacking),
 * and media/XHR reach only this origin and the given edge origins (never any host: an injected
 * script could not send what it read anywhere else).
 */
export function pageHeaders(edgeOrigins: readonly string[]): Record<string, string> {
  const edges = edgeOrigins.map((o) => ` ${o}`).join("");
  return {
    "content-security-policy": `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:${edges}; media-src 'self' blob:${edges}; connect-src 'self'${edges}; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'`,
    "x-frame-options": "DENY",
  };
}

const SECURITY_EVENT_OF: Partial<Record<string, SecurityEventName>> = {
  UNAUTHENTICATED: "auth.failed",
  TOKEN_EXPIRED: "auth.failed",
  TOKEN_REVOKED: "auth.failed",
  FORBIDDEN: "permission.denied",
  RATE_LIMITED: "rate.limited",
  MALFORMED_FRAME: "protocol.abuse",
  PAYLOAD_TOO_LARGE: "protocol.abuse",
};

function rateLimited(waitSec: number): AppError {
  const retryAfterSec = Math.max(1, Math.ceil(waitSec));
  return new AppError("RATE_LIMITED", `Too many requests: retry in ${retryAfterSec}s`, { retryAfterSec });
}
