/**
 * Analytics over HTTP:
 *   POST /api/events                {events, device?, retry?, token?}  telemetry; `token` in the body is
 *                                   for navigator.sendBeacon, which cannot send headers
 *   POST /api/analytics/query       {sql}  one read-only SELECT (admin)
 *   GET  /api/analytics/dashboard   ?minutes=&stream=  per-minute QoE, engagement, health (admin)
 *   GET  /api/analytics/status      store, backlog, ingest lag, firing alerts (admin)
 *   GET  /api/recommendations       ?limit=  the caller's rows (recommenders actor)
 *   GET  /api/resume/:id                     where the caller left off in a video
 */
import { AppError } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";
import type { AnalyticsEdge } from "../analytics-edge.js";
import type { Route, RouteContext } from "./router.js";

export interface AnalyticsDeps {
  edge: AnalyticsEdge;
  verify: (token: string) => Promise<Principal>;
  call: (action: string, params: Record<string, unknown>, principal: Principal) => Promise<unknown>;
}

const must = (p: Principal | undefined): Principal => {
  if (!p) throw new AppError("UNAUTHENTICATED", "Authorization: Bearer <token> required");
  return p;
};

export function analyticsRoutes(deps: AnalyticsDeps): Route[] {
  const events = async (ctx: RouteContext) => {
    const body = (ctx.body ?? {}) as { events?: unknown; token?: unknown; device?: unknown; retry?: unknown };
    const principal = ctx.principal ?? (typeof body.token === "string" && body.token.length <= 4096 ? await deps.verify(body.token) : undefined);
    return { body: await deps.edge.accept(body.events, must(principal), ctx.ex.head.extra["user-agent"], body.device, body.retry === true) };
  };
  const query = (c: RouteContext): Record<string, string> => Object.fromEntries(c.ex.head.query.entries());
  return [
    { method: "POST", path: "/api/events", auth: "optional", body: true, summary: "Telemetry events (also by sendBeacon with the token in the body)", handler: events },
    {
      method: "POST",
      path: "/api/analytics/query",
      auth: "required",
      body: true,
      summary: "One read-only SQL SELECT over the analytics tables (admin)",
      handler: async (c) => ({ body: await deps.call("analytics.query", { sql: (c.body as { sql?: unknown } | undefined)?.sql }, must(c.principal)) }),
    },
    {
      method: "GET",
      path: "/api/analytics/dashboard",
      auth: "required",
      summary: "Per-minute QoE, engagement and server health, recent errors (admin; ?minutes=&stream=)",
      handler: async (c) => ({ body: await deps.call("analytics.dashboard", query(c), must(c.principal)) }),
    },
    {
      method: "GET",
      path: "/api/recommendations",
      auth: "required",
      summary: "The caller's home rows, each with why: continue watching, following, for you, live now, because you watched X, trending, popular per category (?limit=1..100)",
      handler: async (c) => ({ body: await deps.call("recommenders.recommend", query(c), must(c.principal)) }),
    },
    { method: "GET", path: "/api/resume/:id", auth: "required", summary: "Where the caller left off in a video ({positionSec}: null when not started or finished)", handler: async (c) => ({ body: await deps.call("recommenders.resume", { id: c.params.id }, must(c.principal)) }) },
    { method: "GET", path: "/api/recommendations/model", auth: "required", summary: "The model version being served (admin)", handler: async (c) => ({ body: await deps.call("recommenders.status", {}, must(c.principal)) }) },
    { method: "POST", path: "/api/recommendations/retrain", auth: "required", summary: "Retrain the recommendation model now (admin)", handler: async (c) => ({ body: await deps.call("recommenders.retrain", {}, must(c.principal)) }) },
    { method: "GET", path: "/api/analytics/status", auth: "required", summary: "Analytics store, backlog, ingest figures, firing alerts (admin)", handler: async (c) => ({ body: await deps.call("analytics.status", {}, must(c.principal)) }) },
  ];
}
