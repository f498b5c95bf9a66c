/**
 * VOD over HTTP:
 *   uploads (tus 1.0 core: POST creates, HEAD/GET tells the offset, PATCH appends a chunk)
 *     POST  /api/uploads          Upload-Length, Upload-Metadata "title <b64>,filename <b64>"
 *     HEAD  /api/uploads/:id      -> Upload-Offset, Upload-Length
 *     PATCH /api/uploads/:id      application/offset+octet-stream, Upload-Offset; <= uploadChunkMaxBytes
 *   keys: GET /api/keys/:id -> the asset's AES-128 key (16 bytes) after the license check.
 * Each chunk of an upload is written here into the blob store as one part (`uploads/<stream
 * id>/<from>-<to>`: a key the platform made, never the client's file name), so any gateway takes
 * the next chunk; the encoders actor keeps the offsets and the jobs.
 */
import { partKey, type BlobStore } from "../../blobs/index.js";
import { AppError } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";
import type { Route, RouteContext, RouteResult } from "./router.js";
import type { PlaybackSigner } from "./playback.js";

export type VodCall = (action: string, params: Record<string, unknown>, principal: Principal) => Promise<unknown>;

export interface VodDeps {
  blobs: BlobStore;
  call: VodCall;
  /** Calls an actor as the gateway itself (a signed URL stands for the viewer). */
  callInternal: (action: string, params: Record<string, unknown>) => Promise<unknown>;
  signer: PlaybackSigner;
  /** The least-loaded edge's public URL, when edges are announcing themselves. */
  pickEdge: () => string | undefined;
}

interface UploadRec {
  id: string;
  streamId: string;
  length: number;
  offset: number;
  state: string;
  error?: string;
}

const TUS = { "tus-resumable": "1.0.0" };

function must(p: Principal | undefined): Principal {
  if (!p) throw new AppError("UNAUTHENTICATED", "Authorization: Bearer <token> required");
  return p;
}

/** tus Upload-Metadata: comma-separated "key base64value" pairs. */
export function parseMetadata(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of header.split(",")) {
    const [k, v] = pair.trim().split(" ");
    if (!k || !/^[a-z0-9_-]{1,32}$/i.test(k)) continue;
    out[k] = v ? Buffer.from(v, "base64").toString("utf8").slice(0, 500) : "";
  }
  return out;
}

function offsetHeaders(u: UploadRec): Record<string, string> {
  return { ...TUS, "upload-offset": String(u.offset), "upload-length": String(u.length), "cache-control": "no-store" };
}

export function vodRoutes({ blobs, call, callInternal, signer, pickEdge }: VodDeps): Route[] {
  const create = async (ctx: RouteContext): Promise<RouteResult> => {
    const principal = must(ctx.principal);
    const length = Number(ctx.ex.head.extra["upload-length"]);
    if (!Number.isSafeInteger(length) || length <= 0) throw new AppError("BAD_REQUEST", "Upload-Length must be a positive integer (deferred length is not supported)");
    const meta = parseMetadata(ctx.ex.head.extra["upload-metadata"]);
    const title = meta.title || meta.filename || "Untitled video";
    const u = (await call("encoders.uploadCreate", { title, length, filename: meta.filename ?? "" }, principal)) as UploadRec;
    return { status: 201, body: { uploadId: u.id, streamId: u.streamId }, headers: { ...TUS, location: `/api/uploads/${u.id}` } };
  };

  const status = async (ctx: RouteContext): Promise<RouteResult> => {
    const u = (await call("encoders.upload", { id: ctx.params.id }, must(ctx.principal))) as UploadRec;
    return { status: 200, body: u, headers: offsetHeaders(u) };
  };

  const offsetOf = (ctx: Omit<RouteContext, "body">): number => {
    const from = Number(ctx.ex.head.extra["upload-offset"]);
    if (!Number.isSafeInteger(from) || from < 0) throw new AppError("BAD_REQUEST", "Upload-Offset must be a non-negative integer");
    return from;
  };

  /** Before the chunk is read: the caller owns a receiving upload at this offset (else the body
   *  is never buffered: a stranger cannot make the gateway hold 16 MB per request). */
  const mayAppend = async (ctx: Omit<RouteContext, "body">): Promise<void> => {
    const from = offsetOf(ctx);
    const u = (await call("encoders.upload", { id: ctx.params.id }, must(ctx.principal))) as UploadRec;
    if (u.state !== "receiving") throw new AppError("CONFLICT", `The upload is ${u.state}`);
    if (from !== u.offset) throw new AppError("CONFLICT", `Upload-Offset is ${u.offset}, not ${from}`, { offset: u.offset });
  };

  /** Writes the chunk under the upload's write lease: one writer at a time, never after it completed. */
  const append = async (ctx: RouteContext): Promise<RouteResult> => {
    const principal = must(ctx.principal);
    const chunk = ctx.body as Buffer;
    const id = ctx.params.id ?? "";
    const from = offsetOf(ctx);
    const { token, streamId } = (await call("encoders.uploadReserve", { id, from, to: from + chunk.length }, principal)) as { token: string; streamId: string };
    try {
      await blobs.put(partKey(streamId, from, from + chunk.length), chunk);
    } catch (err) {
      await call("encoders.uploadRelease", { id, token }, principal).catch(() => undefined);
      throw err;
    }
    const next = (await call("encoders.uploadAdvance", { id, from, to: from + chunk.length, token }, principal)) as UploadRec;
    return { status: 204, headers: offsetHeaders(next) };
  };

  const key = async (ctx: RouteContext): Promise<RouteResult> => {
    const id = ctx.params.id ?? "";
    const pt = ctx.ex.head.query.get("pt");
    let answer: unknown;
    if (ctx.principal) answer = await call("streams.playbackKey", { id }, ctx.principal);
    else if (pt && (await signer.verify(id, pt))) answer = await callInternal("streams.playbackKey", { id });
    else throw new AppError(pt ? "FORBIDDEN" : "UNAUTHENTICATED", pt ? "The playback URL is invalid or expired" : "Authorization: Bearer <token> or a signed playback URL required");
    const { key: b64 } = answer as { key: string };
    return { status: 200, raw: { type: "application/octet-stream", text: Buffer.from(b64, "base64") }, headers: { "cache-control": "no-store, private" } };
  };

  const playback = async (ctx: RouteContext): Promise<RouteResult> => {
    const id = ctx.params.id ?? "";
    await call("streams.playable", { id }, must(ctx.principal));
    const { token, expiresAt } = await signer.sign(id);
    const q = `?pt=${encodeURIComponent(token)}`;
    const base = pickEdge() ?? ""; // the least-loaded edge, else this gateway
    return { status: 200, body: { master: `${base}/vod/${id}/master.m3u8${q}`, poster: `${base}/vod/${id}/poster.jpg${q}`, sprite: `${base}/vod/${id}/sprite.jpg${q}`, expiresAt, edge: base || null } };
  };

  return [
    { method: "POST", path: "/api/uploads", auth: "required", summary: "tus: start a resumable upload (creates a VOD stream)", handler: create },
    { method: "GET", path: "/api/uploads/:id", auth: "required", summary: "tus: the upload's offset (HEAD or GET)", handler: status },
    { method: "PATCH", path: "/api/uploads/:id", auth: "required", body: "octets", authorize: mayAppend, summary: "tus: append a chunk at Upload-Offset", handler: append },
    { method: "GET", path: "/api/encodes/:id", auth: "required", summary: "The encoding job of a VOD stream: status, progress, attempts (owner or admin)", handler: async (ctx) => ({ body: await call("encoders.get", { streamId: ctx.params.id }, must(ctx.principal)) }) },
    { method: "DELETE", path: "/api/encodes/:id", auth: "required", summary: "Cancel the encoding job of a VOD stream (owner or admin)", handler: async (ctx) => ({ body: await call("encoders.cancel", { streamId: ctx.params.id }, must(ctx.principal)) }) },
    { method: "GET", path: "/api/keys/:id", auth: "optional", summary: "The AES-128 key of a ready VOD asset (license check): Bearer token or ?pt= signed URL", handler: key },
    { method: "GET", path: "/api/playback/:id", auth: "required", summary: "A short-lived signed playback URL (for players that cannot send headers)", handler: playback },
  ];
}
