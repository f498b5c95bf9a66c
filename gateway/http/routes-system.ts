/** The node's own routes: liveness, readiness, Prometheus metrics (token-gated here) and the
 *  OpenAPI document of every route. */
import { timingSafeEqual } from "node:crypto";
import { AppError } from "../../lib/errors.js";
import { openApiDocument } from "./openapi.js";
import type { Route } from "./router.js";

export interface SystemDeps {
  nodeId: string;
  version: string;
  ready(): { ok: boolean; detail: Record<string, unknown> };
  metricsText(): string;
  /** gateway.metricsToken: without one, /metrics lives on the ops port only. */
  metricsToken: string;
  routes(): readonly Route[];
}

export function systemRoutes(d: SystemDeps): Route[] {
  return [
    { method: "GET", path: "/healthz", auth: "none", summary: "Liveness: the process serves HTTP", handler: () => ({ body: { ok: true, nodeId: d.nodeId } }) },
    { method: "GET", path: "/readyz", auth: "none", summary: "Readiness: keys loaded, sessions reachable, not draining", handler: () => {
      const r = d.ready();
      return { status: r.ok ? 200 : 503, body: { ready: r.ok, ...r.detail } };
    } },
    { method: "GET", path: "/metrics", auth: "none", summary: "Prometheus metrics of this node (Bearer gateway.metricsToken; or on OPS_PORT)", handler: (ctx) => {
      checkMetricsToken(d.metricsToken, ctx.ex.head.authorization);
      ctx.ex.send(200, d.metricsText(), { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      return {};
    } },
    { method: "GET", path: "/api/openapi.json", auth: "none", summary: "This document", handler: () => ({ body: openApiDocument(d.routes(), d.version) }) },
  ];
}

/** Metrics tell a stranger the node's load, users and versions: the public port shows them
 *  only to the scraper holding the configured token. */
function checkMetricsToken(want: string, authorization: string): void {
  if (!want) throw new AppError("NOT_FOUND", "/metrics is served on the ops port (OPS_PORT), or here with gateway.metricsToken");
  const got = Buffer.from(authorization.replace(/^Bearer\s+/i, ""));
  const ok = got.length === Buffer.byteLength(want) && timingSafeEqual(got, Buffer.from(want));
  if (!ok) throw new AppError("UNAUTHENTICATED", "Authorization: Bearer <metrics token> required");
}
