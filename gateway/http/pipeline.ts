/**
 * The HTTP pipeline of a gateway, per request: request id and trace, CORS and security headers,
 * drain refusal, per-address rate limit, routing (API routes, else files), authentication and
 * per-user limit, the route's own check, the body (JSON, SDP or upload chunk, read only once
 * allowed), the handler, and errors as typed bodies with a log line (security refusals to the
 * security log).
 */
import type { HttpRequest, HttpResponse } from "@trufflesuite/uws-js-unofficial";
import type { LoggerInstance, ServiceBroker } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError, httpStatusOf, toErrorBody } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";
import { SecurityLog, withTrace, type SecurityEventName } from "../../lib/logging.js";
import { RateLimiter } from "../../lib/rate-limit.js";
import type { TokenVerifier } from "../../lib/tokens.js";
import { MAX_SDP_BYTES } from "../../protocol/media.js";
import { proxyTrust, type ProxyTrust } from "./client-ip.js";
import { Exchange, readHead } from "./exchange.js";
import type { Route, Router } from "./router.js";

export interface PipelineDeps {
  cfg: AppConfig;
  broker: ServiceBroker;
  router: Router;
  verifier: TokenVerifier;
  /** GET/HEAD of anything that is not an API route (files). */
  serveFile(ex: Exchange): Promise<void>;
  /** Whether the node is draining (requests are refused with UNAVAILABLE). */
  draining(): boolean;
  /** Called once per request (the edge's load). */
  onRequest(): void;
  /** The owner a stream key speaks for (UNAUTHENTICATED when it is wrong, rotated or revoked). */
  checkStreamKey(key: string): Promise<Principal>;
}

export class HttpPipeline {
  readonly #d: PipelineDeps;
  readonly #log: LoggerInstance;
  readonly #sec: SecurityLog;
  readonly #trust: ProxyTrust;
  readonly #ipLimiter: RateLimiter;
  readonly #userLimiter: RateLimiter;
  readonly #authLimiter: RateLimiter;
  readonly #https: boolean;
  #inflight = 0;

  constructor(d: PipelineDeps) {
    this.#d = d;
    this.#log = d.broker.getLogger("gateway");
    this.#sec = SecurityLog.of(d.broker);
    const g = d.cfg.gateway;
    this.#https = Boolean(g.tlsCertFile);
    this.#trust = proxyTrust(g.trustProxy, g.trustedProxies);
    this.#ipLimiter = new RateLimiter(g.httpRatePerIp, g.httpBurstPerIp);
    this.#userLimiter = new RateLimiter(g.httpRatePerUser, g.httpBurstPerUser);
    this.#authLimiter = new RateLimiter(g.authRatePerIp, g.authBurstPerIp);
  }

  get trust(): ProxyTrust {
    return this.#trust;
  }

  /** Requests being answered now (drain waits for them). */
  get inflight(): number {
    return this.#inflight;
  }

  /** Forgets idle limiter buckets (every minute). */
  sweep(): void {
    this.#ipLimiter.sweep();
    this.#userLimiter.sweep();
    this.#authLimiter.sweep();
  }

  handle(res: HttpResponse, req: HttpRequest): void {
    const ex = new Exchange(res, readHead(res, req, this.#trust));
    this.#inflight++;
    this.#d.onRequest();
    const started = process.hrtime.bigint();
    ex.header("x-request-id", ex.requestId);
    void withTrace({ traceId: ex.requestId }, () => this.#serve(ex))
      .catch((err: unknown) => this.#fail(ex, err))
      .finally(() => {
        this.#inflight--;
        this.#d.broker.metrics.observe("esh.gateway.http.request.time", Number(process.hrtime.bigint() - started) / 1e6);
      });
  }

  /** A refusal's security log line (failed authentication, denials, rate limits, abuse). */
  securityReject(code: string, fields: { ip: string; user?: string | undefined; via: string; what: string; trace_id?: string }): void {
    const event = SECURITY_EVENT_OF[code];
    if (event) this.#sec.event(event, { code, ...fields });
  }

  async #serve(ex: Exchange): Promise<void> {
    const h = ex.head;
    this.#cors(ex);
    ex.header("x-content-type-options", "nosniff").header("referrer-policy", "no-referrer");
    if (this.#https) ex.header("strict-transport-security", "max-age=31536000");
    if (this.#d.draining()) {
      // Keep-alive clients would keep this node busy until the drain times out: answer a
      // retryable UNAVAILABLE and close their connection, so they go to another gateway.
      ex.closeAfter = true;
      throw new AppError("UNAVAILABLE", "This node is shutting down: retry on another");
    }
    if (h.method === "OPTIONS") return ex.send(204, "", { "access-control-max-age": "600" });
    take(this.#ipLimiter, h.ip);
    const match = this.#d.router.match(h.method, h.url);
    if (!match) {
      if ((h.method === "GET" || h.method === "HEAD") && !h.url.startsWith("/api/")) return this.#d.serveFile(ex);
      throw new AppError("NOT_FOUND", "No such route");
    }
    if ("allowed" in match) {
      ex.header("allow", match.allowed.join(", "));
      throw new AppError("METHOD_NOT_ALLOWED", `Use ${match.allowed.join(" or ")}`);
    }
    const { route, params } = match;
    if (route.authLimited) take(this.#authLimiter, h.ip);
    if (route.body === "octets" && h.contentType.split(";")[0]?.trim().toLowerCase() !== "application/offset+octet-stream") {
      throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Send upload chunks as application/offset+octet-stream");
    }
    // uWS delivers the body right away: onData must be attached before the first await. Raw
    // bodies (upload chunks) wait for the token and the route's own check before being read.
    const authorize = route.authorize;
    const gate = this.#authenticate(ex, route).then(async (principal) => {
      if (authorize) await authorize({ ex, params, principal });
      return principal;
    });
    const pendingBody = this.#body(ex, route, gate);
    pendingBody.catch(() => undefined); // if authentication fails first, the body error is moot
    const principal = await gate;
    const body = await pendingBody;
    const result = await route.handler({ ex, params, principal, body });
    this.#d.broker.metrics.increment("esh.gateway.http.requests.total", { route: route.path, status: result.status ?? 200 });
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
    const token = auth.slice(7).trim();
    // A JWT has three dot-separated parts; a stream key (<stream id>.<secret>) two.
    const principal = route.streamKey && token.split(".").length === 2 ? await this.#d.checkStreamKey(token) : await this.#d.verifier.verify(token);
    take(this.#userLimiter, principal.userId);
    return principal;
  }

  #body(ex: Exchange, route: Route, gate: Promise<unknown>): Promise<unknown> {
    if (route.body === "sdp") return this.#sdpBody(ex);
    if (route.body === "octets") return ex.readBody(this.#d.cfg.vod.uploadChunkMaxBytes, gate);
    return route.body ? this.#jsonBody(ex) : Promise.resolve(undefined);
  }

  async #jsonBody(ex: Exchange): Promise<unknown> {
    const type = mediaType(ex);
    if (ex.head.contentLength === 0 || (type === "" && ex.head.contentLength === undefined)) return {};
    if (type !== "application/json") throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Send application/json");
    const raw = await ex.readBody(this.#d.cfg.gateway.maxBodyBytes);
    if (raw.length === 0) return {};
    try {
      return JSON.parse(raw.toString("utf8")) as unknown;
    } catch {
      throw new AppError("BAD_REQUEST", "Body is not valid JSON");
    }
  }

  async #sdpBody(ex: Exchange): Promise<string> {
    if (mediaType(ex) !== "application/sdp") throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Send the SDP offer as application/sdp");
    return (await ex.readBody(MAX_SDP_BYTES)).toString("utf8");
  }

  #cors(ex: Exchange): void {
    const origin = ex.head.origin;
    if (!origin) return;
    const allowed = this.#d.cfg.gateway.corsOrigins;
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
    const what = `${ex.head.method} ${ex.head.url.slice(0, 200)}`;
    this.securityReject(body.code, { ip: ex.head.ip, via: "http", what, trace_id: requestId });
    if (status >= 500) this.#log.error(`${what} -> ${body.code} [${requestId}]`, err);
    else this.#log.info(`${what} from ${ex.head.ip} -> ${status} ${body.code}`);
    this.#d.broker.metrics.increment("esh.gateway.rejects.total", { code: body.code });
    const headers: Record<string, string> = {};
    const retryAfter = body.data?.retryAfterSec;
    if (typeof retryAfter === "number") headers["retry-after"] = String(retryAfter);
    ex.json(status, { error: { ...body, requestId } }, headers);
  }
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

function mediaType(ex: Exchange): string {
  return ex.head.contentType.split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Takes a token from the bucket, or refuses with RATE_LIMITED and when to retry. */
function take(limiter: RateLimiter, key: string): void {
  const wait = limiter.take(key);
  if (wait <= 0) return;
  const retryAfterSec = Math.max(1, Math.ceil(wait));
  throw new AppError("RATE_LIMITED", `Too many requests: retry in ${retryAfterSec}s`, { retryAfterSec });
}
