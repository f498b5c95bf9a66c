/**
 * The WebSocket edge at /ws: token check at upgrade, one TokenBucket per connection, decode ->
 * dispatch -> answer, backpressure limits from config, and the registry of open connections
 * (by session id) used to close them when a session is revoked, a token expires, or the node
 * drains.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocket, WebSocketBehavior } from "@trufflesuite/uws-js-unofficial";
import type { AppConfig } from "../../lib/config.js";
import { AppError, toErrorBody } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";
import { CLOSE } from "../../protocol/close-codes.js";
import { rawQuery } from "../http/exchange.js";
import { clientIp, forwardedFor, proxyTrust, type ProxyTrust } from "../http/client-ip.js";
import { TokenBucket } from "../../lib/rate-limit.js";
import { decodeFrame, encodeFrame, type ServerFrame, type WireFormat } from "./codec.js";
import { newTraceId, withTrace } from "../../lib/logging.js";
import { runMessage } from "./messages.js";
import type { Connection } from "./connection.js";
import type { MessageEnv } from "./message-def.js";

export interface ConnData extends Connection {
  bucket: TokenBucket;
  limitedInARow: number;
  malformedInARow: number;
}

export interface HubEvents {
  /** A refused frame, upgrade or message; `who` is set where a client is known (security log). */
  onReject(code: string, who?: { ip: string; userId?: string; what: string }): void;
  onMessage(type: string): void;
  onError(err: unknown): void;
}

type Ws = WebSocket<ConnData>;
const MALFORMED_CLOSE_AFTER = 5;

export class WsHub {
  readonly #cfg: AppConfig["gateway"];
  readonly #env: MessageEnv;
  readonly #events: HubEvents;
  readonly #conns = new Set<Ws>();
  /** Open connections per client IP and per user: the caps on upgrades. */
  readonly #perIp = new Map<string, number>();
  readonly #perUser = new Map<string, number>();
  readonly #trust: ProxyTrust;
  #nextId = 1;
  #draining = false;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(cfg: AppConfig["gateway"], env: MessageEnv, events: HubEvents) {
    this.#cfg = cfg;
    this.#env = env;
    this.#events = events;
    this.#trust = proxyTrust(cfg.trustProxy, cfg.trustedProxies);
    this.#sweepTimer = setInterval(() => this.#closeExpired(), 2000);
    this.#sweepTimer.unref();
  }

  get size(): number {
    return this.#conns.size;
  }

  behavior(): WebSocketBehavior<ConnData> {
    return {
      maxPayloadLength: this.#cfg.maxFrameBytes,
      maxBackpressure: this.#cfg.maxBackpressureBytes,
      closeOnBackpressureLimit: 1, // typed as a number in this build's d.ts; it is a flag
      idleTimeout: this.#cfg.idleTimeoutSec,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => this.#open(ws),
      message: (ws, message, isBinary) => {
        // Last line of defence: nothing a client sends may throw out of a uWS callback.
        try {
          this.#message(ws, message, isBinary);
        } catch (err) {
          this.#events.onReject("INTERNAL");
          this.#events.onError(err);
          this.send(ws, { t: "error", d: { code: "INTERNAL", message: "Internal error" } });
        }
      },
      drain: (ws) => {
        // The socket caught up; nothing is queued on our side (sends are not buffered here).
        if (ws.getBufferedAmount() === 0) ws.getUserData().limitedInARow = 0;
      },
      close: (ws) => {
        const data = ws.getUserData();
        data.closed = true;
        data.socket = undefined;
        if (this.#conns.delete(ws)) {
          decrement(this.#perIp, data.ip);
          decrement(this.#perUser, data.principal.userId);
        }
        this.#env.rooms.closed(ws);
        this.#env.media.closed(ws);
      },
    };
  }

  /** Sends one frame; a send refused for backpressure closes the socket (slow consumer). */
  send(ws: Ws, frame: ServerFrame): void {
    const data = ws.getUserData();
    const bytes = encodeFrame(frame, data.format);
    const status = ws.send(bytes, data.format === "msgpack");
    if (status === 2) this.#events.onReject("SLOW_CONSUMER");
  }

  /** Sends a frame to every connection of this user on this node (encoded once per format). */
  toUser(userId: string, frame: ServerFrame): void {
    this.toUsers(new Set([userId]), frame);
  }

  /** Sends a frame to every connection of these users on this node (encoded once per format). */
  toUsers(userIds: ReadonlySet<string>, frame: ServerFrame): void {
    if (userIds.size === 0) return;
    const encoded = new Map<WireFormat, Buffer | string>();
    for (const ws of this.#conns) {
      const data = ws.getUserData();
      if (!userIds.has(data.principal.userId)) continue;
      let bytes = encoded.get(data.format);
      if (bytes === undefined) encoded.set(data.format, (bytes = encodeFrame(frame, data.format)));
      ws.send(bytes, data.format === "msgpack");
    }
  }

  /** Sends a frame to every admin connection on this node (alerts). */
  toAdmins(frame: ServerFrame): void {
    for (const ws of this.#conns) if (ws.getUserData().principal.role === "admin") this.send(ws, frame);
  }

  /** Closes every connection of these sessions (revoked). */
  closeSessions(sids: ReadonlySet<string>, code: number, reason: string): number {
    let n = 0;
    for (const ws of this.#conns) {
      if (sids.has(ws.getUserData().principal.sid)) {
        ws.end(code, reason);
        n++;
      }
    }
    return n;
  }

  /** Stops accepting upgrades and tells every client to reconnect to another node. */
  drain(): void {
    this.#draining = true;
    clearInterval(this.#sweepTimer);
    for (const ws of [...this.#conns]) ws.end(CLOSE.RECONNECT_ELSEWHERE, "server draining: reconnect elsewhere");
  }

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const key = req.getHeader("sec-websocket-key");
    const protocol = req.getHeader("sec-websocket-protocol");
    const extensions = req.getHeader("sec-websocket-extensions");
    const auth = req.getHeader("authorization");
    const userAgent = req.getHeader("user-agent").slice(0, 512);
    const query = new URLSearchParams(rawQuery(req));
    const ip = clientIp(Buffer.from(res.getRemoteAddressAsText()).toString(), forwardedFor(req), this.#trust);
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const token = auth.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : (query.get("token") ?? "");
    const format: WireFormat = query.get("format") === "json" ? "json" : "msgpack";
    const upgrade = (principal: Principal) => {
      const full = this.#full(ip, principal.userId);
      if (full) return refuse(new AppError("RATE_LIMITED", `Too many connections from this ${full}`, { retryAfterSec: 5 }));
      const data: ConnData = { id: this.#nextId++, principal, ip, userAgent, format, rooms: new Set(), media: new Map(), mediaJoining: new Set(), closed: false, bucket: new TokenBucket(this.#cfg.wsRatePerSec, this.#cfg.wsBurst), limitedInARow: 0, malformedInARow: 0 };
      res.upgrade(data, key, protocol, extensions, context);
    };
    const refuse = (err: unknown) => {
      const body = toErrorBody(err);
      this.#events.onReject(body.code, { ip, what: "upgrade" });
      const status = body.code === "UNAVAILABLE" ? "503 Service Unavailable" : body.code === "RATE_LIMITED" ? "429 Too Many Requests" : "401 Unauthorized";
      res.writeStatus(status).writeHeader("content-type", "application/json");
      const after = body.data?.retryAfterSec;
      if (typeof after === "number") res.writeHeader("retry-after", String(after));
      res.end(JSON.stringify({ error: body }));
    };
    // Upgrade inside this handler whenever the token can be checked without I/O. uWS's cork()
    // after an asynchronous upgrade can read the new socket's memory as HTTP state and close it
    // at once (uNetworking/uWebSockets#1929): fresh sockets dropped with 1006, joins unanswered.
    let principal: Principal | undefined;
    try {
      this.#env.admission.admitUpgrade();
      principal = this.#draining ? undefined : token ? this.#env.verifySync(token) : undefined;
    } catch (err) {
      return refuse(err);
    }
    if (principal) return upgrade(principal);
    // An unknown key id (a rotation this node has not loaded yet), a missing token, draining: rare.
    void this.#authorize(token).then(
      (p) => {
        if (!aborted) res.cork(() => upgrade(p));
      },
      (err: unknown) => {
        if (!aborted) res.cork(() => refuse(err));
      },
    );
  }

  async #authorize(token: string): Promise<Principal> {
    if (this.#draining) throw new AppError("UNAVAILABLE", "Draining: connect to another node");
    if (!token) throw new AppError("UNAUTHENTICATED", "A token is required (Authorization: Bearer, or ?token=)");
    return this.#env.verify(token);
  }

  /** Which cap a new connection of this IP and user would pass, if any. */
  #full(ip: string, userId: string): "address" | "user" | undefined {
    if ((this.#perIp.get(ip) ?? 0) >= this.#cfg.wsPerIp) return "address";
    if ((this.#perUser.get(userId) ?? 0) >= this.#cfg.wsPerUser) return "user";
    return undefined;
  }

  #open(ws: Ws): void {
    this.#conns.add(ws);
    const d = ws.getUserData();
    this.#perIp.set(d.ip, (this.#perIp.get(d.ip) ?? 0) + 1);
    this.#perUser.set(d.principal.userId, (this.#perUser.get(d.principal.userId) ?? 0) + 1);
    ws.getUserData().socket = ws;
    const p = ws.getUserData().principal;
    this.send(ws, { t: "hello", d: { protocol: 1, nodeId: this.#env.nodeId, userId: p.userId, role: p.role, guest: p.guest, exp: p.exp } });
  }

  #message(ws: Ws, message: ArrayBuffer, isBinary: boolean): void {
    const data = ws.getUserData();
    if (data.bucket.take() > 0) {
      this.#events.onReject("RATE_LIMITED", { ip: data.ip, userId: data.principal.userId, what: "ws frame" });
      if (++data.limitedInARow >= this.#cfg.wsFloodCloseAfter) return ws.end(CLOSE.FLOODING, "flooding");
      return this.send(ws, { t: "error", d: { code: "RATE_LIMITED", message: "Too many messages" } });
    }
    data.limitedInARow = 0;
    let frame;
    try {
      frame = decodeFrame(message, isBinary);
      data.malformedInARow = 0;
    } catch (err) {
      this.#events.onReject("MALFORMED_FRAME", { ip: data.ip, userId: data.principal.userId, what: "ws frame" });
      if (++data.malformedInARow >= MALFORMED_CLOSE_AFTER) return ws.end(CLOSE.PROTOCOL_ERROR, "too many malformed frames");
      return this.send(ws, { t: "error", d: toErrorBody(err) });
    }
    const { t, id, d } = frame;
    this.#events.onMessage(t);
    void withTrace(() => ({ traceId: newTraceId() }), () => runMessage(t, d, data, this.#env)).then(
      (result) => this.#answer(ws, id === undefined ? undefined : { t: "ok", id, d: result ?? null }),
      (err: unknown) => {
        const body = toErrorBody(err);
        this.#events.onReject(body.code, { ip: data.ip, userId: data.principal.userId, what: `ws ${t}` });
        if (body.code === "INTERNAL") this.#events.onError(err);
        this.#answer(ws, id === undefined ? { t: "error", d: body } : { t: "error", id, d: body });
      },
    );
  }

  /** Answers unless the socket closed while the handler ran. */
  #answer(ws: Ws, frame: ServerFrame | undefined): void {
    if (frame && this.#conns.has(ws)) this.send(ws, frame);
  }

  #closeExpired(): void {
    const now = Date.now() / 1000;
    for (const ws of this.#conns) if (ws.getUserData().principal.exp <= now) ws.end(CLOSE.TOKEN_EXPIRED, "token expired: refresh and reconnect");
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
