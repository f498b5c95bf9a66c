/**
 * The standards endpoints for outside tools (docs/protocol.md#whip-and-whep):
 *   WHIP  POST /api/whip/:stream  (application/sdp offer, Bearer token of the stream's owner)
 *         -> 201, SDP answer, Location /api/whip/:stream/:session; DELETE that Location to stop.
 *   WHEP  POST /api/whep/:stream  (application/sdp recvonly offer, any valid token, guests too)
 *         -> 201, SDP answer, Location /api/whep/:stream/:session; DELETE to stop.
 * The session path names the media node and the peer, so a DELETE reaching another gateway
 * still finds it. Trickle ICE (PATCH) is not offered: the answer carries all candidates (ICE-lite).
 */
import { randomBytes } from "node:crypto";
import { AppError } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";
import type { Route, RouteContext, RouteResult } from "./router.js";

export type MediaCall = (action: string, params: Record<string, unknown>, principal: Principal, nodeID?: string) => Promise<unknown>;

const encodeSession = (nodeID: string, peerId: string): string => Buffer.from(`${nodeID}\n${peerId}`).toString("base64url");

function decodeSession(session: string): { nodeID: string; peerId: string } {
  const [nodeID, peerId, extra] = Buffer.from(session, "base64url").toString("utf8").split("\n");
  if (!nodeID || !peerId || extra !== undefined) throw new AppError("NOT_FOUND", "No such session");
  return { nodeID, peerId };
}

function must(p: Principal | undefined): Principal {
  if (!p) throw new AppError("UNAUTHENTICATED", "Authorization: Bearer <token> required");
  return p;
}

export function mediaRoutes(gatewayNode: string, call: MediaCall): Route[] {
  const start = (kind: "whip" | "whep") => async (ctx: RouteContext): Promise<RouteResult> => {
    const principal = must(ctx.principal);
    const streamId = ctx.params.id ?? "";
    const role = kind === "whip" ? "broadcaster" : "viewer";
    if (principal.sid.startsWith("ingest:") && (kind !== "whip" || principal.sid !== `ingest:${streamId}`)) throw new AppError("FORBIDDEN", "This stream key is for another stream");
    const { nodeID, origin } = (await call("streams.place", { id: streamId, role }, principal)) as { nodeID: string; origin?: string };
    const peerId = `${gatewayNode}/${kind}/${randomBytes(9).toString("base64url")}`;
    const params = { streamId, peerId, sdp: ctx.body, ip: ctx.ex.head.ip, ...(origin === undefined ? {} : { origin }) };
    const { sdp } = (await call(`media.${kind}`, params, principal, nodeID)) as { sdp: string };
    const location = `/api/${kind}/${encodeURIComponent(streamId)}/${encodeSession(nodeID, peerId)}`;
    return { status: 201, raw: { type: "application/sdp", text: sdp }, headers: { location } };
  };
  const stop = async (ctx: RouteContext): Promise<RouteResult> => {
    const principal = must(ctx.principal);
    if (principal.sid.startsWith("ingest:") && principal.sid !== `ingest:${ctx.params.id ?? ""}`) throw new AppError("FORBIDDEN", "This stream key is for another stream");
    const { nodeID, peerId } = decodeSession(ctx.params.session ?? "");
    const { left } = (await call("media.leave", { streamId: ctx.params.id, peerId }, principal, nodeID).catch((err: unknown) => {
      throw err instanceof Error && /not found|not available/i.test(err.message) ? new AppError("NOT_FOUND", "No such session") : err;
    })) as { left: boolean };
    if (!left) throw new AppError("NOT_FOUND", "No such session");
    return { status: 200, body: { stopped: true } };
  };
  const liveKey = async (ctx: RouteContext): Promise<RouteResult> => {
    const principal = must(ctx.principal);
    const n = Number(/-(\d+)$/.exec(ctx.params.key ?? "")?.[1]);
    if (!Number.isSafeInteger(n)) throw new AppError("NOT_FOUND", "No such live key");
    const { nodeID } = (await call("streams.place", { id: ctx.params.id }, principal)) as { nodeID: string };
    const { key } = (await call("media.liveKey", { streamId: ctx.params.id, n }, principal, nodeID)) as { key: string };
    return { status: 200, raw: { type: "application/octet-stream", text: Buffer.from(key, "base64") }, headers: { "cache-control": "no-store, private" } };
  };

  return [
    { method: "POST", path: "/api/whip/:id", auth: "required", streamKey: true, body: "sdp", summary: "WHIP: publish to a live stream (SDP offer in, answer out; Bearer the owner's token or the stream key)", handler: start("whip") },
    { method: "DELETE", path: "/api/whip/:id/:session", auth: "required", streamKey: true, summary: "WHIP: stop publishing", handler: stop },
    { method: "GET", path: "/api/livekeys/:id/:key", auth: "required", summary: "A key of a live stream's HLS (any valid token; keys rotate)", handler: liveKey },
    { method: "POST", path: "/api/whep/:id", auth: "required", body: "sdp", summary: "WHEP: play a live stream (SDP offer in, answer out)", handler: start("whep") },
    { method: "DELETE", path: "/api/whep/:id/:session", auth: "required", summary: "WHEP: stop playing", handler: stop },
  ];
}
