/**
 * A live stream's stream key and where encoders send it (the studio's "Stream from OBS"):
 *   GET    /api/streams/:id/key   the key and the ingest URLs (owner or admin)
 *   POST   /api/streams/:id/key   rotate: a new key; an ingest on the old one ends
 *   DELETE /api/streams/:id/key   revoke: no key works until the next rotation; an ingest ends
 *   GET    /api/streams/:id/ingest what comes in now (RTMP or WebRTC, bitrate, fps, resolution)
 */
import type { Principal } from "../../lib/identity.js";
import type { IngestSettings, IngestStatus } from "../../protocol/ingest.js";
import type { Route, RouteContext, RouteResult } from "./router.js";

export interface IngestRouteDeps {
  call(action: string, params: Record<string, unknown>, principal: Principal, nodeID?: string): Promise<unknown>;
  /** media.rtmpPort (0 = no RTMP listener) and media.ingestHost ("" = the host the page is on). */
  rtmpPort: number;
  /** media.srtPort (0 = no SRT listener). */
  srtPort: number;
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
      srt: d.srtPort ? `srt://${d.ingestHost || "{host}"}:${String(d.srtPort)}?streamid=${r.key}` : null,
      whip: { url: `/api/whip/${id}`, bearer: r.key },
    };
    return { headers: { "cache-control": "no-store" }, body };
  };
  const status = async (ctx: RouteContext): Promise<RouteResult> => {
    const principal = ctx.principal;
    if (!principal) return { status: 401 };
    const nodeID = (await d.call("streams.mediaNodeOf", { id: ctx.params.id }, principal)) as string | null; // owner or admin only
    const none: IngestStatus = { ingest: null };
    if (nodeID === null) return { body: none, headers: { "cache-control": "no-store" } };
    const body = (await d.call("media.ingestStatus", { streamId: ctx.params.id }, principal, nodeID)) as IngestStatus;
    return { body, headers: { "cache-control": "no-store" } };
  };
  return [
    { method: "GET", path: "/api/streams/:id/ingest", auth: "required", summary: "What comes in for a live stream now: RTMP or WebRTC, bitrate, fps, resolution (owner or admin)", handler: status },
    { method: "GET", path: "/api/streams/:id/key", auth: "required", summary: "The live stream's key and the RTMP and WHIP settings for encoders (owner or admin)", handler: answer("streams.ingestKey") },
    { method: "POST", path: "/api/streams/:id/key", auth: "required", summary: "Rotate the stream key: the old one stops working, an ingest on it ends", handler: answer("streams.rotateIngestKey") },
    { method: "DELETE", path: "/api/streams/:id/key", auth: "required", summary: "Revoke the stream key until the next rotation; an ingest on it ends", handler: answer("streams.revokeIngestKey") },
  ];
}
