/**
 * A live stream's stream key and where encoders send it (the studio's "Stream from OBS"):
 *   GET    /api/streams/:id/key   the key and the ingest URLs (owner or admin)
 *   POST   /api/streams/:id/key   rotate: a new key; an ingest on the old one ends
 *   DELETE /api/streams/:id/key   revoke: no key works until the next rotation; an ingest ends
 */
import type { Principal } from "../../lib/identity.js";
import type { IngestSettings } from "../../protocol/ingest.js";
import type { Route, RouteContext, RouteResult } from "./router.js";

export interface IngestRouteDeps {
  call(action: string, params: Record<string, unknown>, principal: Principal): Promise<unknown>;
  /** media.rtmpPort (0 = no RTMP listener) and media.ingestHost ("" = the host the page is on). */
  rtmpPort: number;
  ingestHost: string;
}

export function ingestRoutes(d: IngestRouteDeps): Route[] {
  const answer = (action: string) => async (ctx: RouteContext): Promise<RouteResult> => {
    const principal = ctx.principal;
    if (!principal) return { status: 401 };
    const r = (await d.call(action, { id: ctx.params.id }, principal)) as { key?: string; revoked?: string };
    if (r.key === undefined) return { body: r };
    const id = ctx.params.id ?? "";
    const body: IngestSettings = {
      key: r.key,
      rtmp: d.rtmpPort ? { server: `rtmp://${d.ingestHost || "{host}"}:${String(d.rtmpPort)}/live`, key: r.key } : null,
      whip: { url: `/api/whip/${id}`, bearer: r.key },
    };
    return { headers: { "cache-control": "no-store" }, body };
  };
  return [
    { method: "GET", path: "/api/streams/:id/key", auth: "required", summary: "The live stream's key and the RTMP and WHIP settings for encoders (owner or admin)", handler: answer("streams.ingestKey") },
    { method: "POST", path: "/api/streams/:id/key", auth: "required", summary: "Rotate the stream key: the old one stops working, an ingest on it ends", handler: answer("streams.rotateIngestKey") },
    { method: "DELETE", path: "/api/streams/:id/key", auth: "required", summary: "Revoke the stream key until the next rotation; an ingest on it ends", handler: answer("streams.revokeIngestKey") },
  ];
}
