/**
 * Serves encoded assets (blob store keys vod/<id>/... and live/<id>/...): playlists, segments,
 * poster and sprite, with the right MIME types, ETag / If-None-Match, single byte ranges, and
 * Cache-Control (segments and images immutable; VOD playlists a few minutes, live ones a
 * second). Only these file shapes exist; the path was decoded and checked segment by segment
 * before it becomes a key. Reads go through the gateway's BlobReader (coalesced, cached).
 */
import path from "node:path";
import type { BlobReader } from "./blob-reader.js";
import { decodePath } from "./router.js";
import { isId } from "../../protocol/ids.js";

const TYPES: Record<string, { type: string; cache: string }> = {
  ".m3u8": { type: "application/vnd.apple.mpegurl", cache: "public, max-age=300" },
  ".ts": { type: "video/mp2t", cache: "public, max-age=31536000, immutable" },
  ".m4s": { type: "video/iso.segment", cache: "public, max-age=31536000, immutable" },
  ".mp4": { type: "video/mp4", cache: "public, max-age=31536000, immutable" },
  ".jpg": { type: "image/jpeg", cache: "public, max-age=31536000, immutable" },
  // Captions can be replaced: a few minutes, like playlists.
  ".vtt": { type: "text/vtt; charset=utf-8", cache: "public, max-age=300" },
};
/** A file name: an id, a dot, and one of the served extensions. */
const NAME = /^([^.]+)\.(m3u8|ts|m4s|mp4|jpg|vtt)$/;
const isName = (name: string): boolean => isId(NAME.exec(name)?.[1] ?? "");

export interface FileAnswer {
  status: 200 | 206 | 304 | 416;
  body: Buffer;
  headers: Record<string, string>;
}

/** The canonical /vod/... path for a raw URL path, or undefined when it is not a file we serve. */
export function vodPath(rawPath: string, prefix = "vod"): { id: string; rest: string[]; path: string } | undefined {
  const segs = decodePath(rawPath);
  if (!segs || segs[0] !== prefix || segs.length < 3 || segs.length > 4) return undefined;
  const [, id, ...rest] = segs;
  const name = rest.at(-1) ?? "";
  if (!id || !isId(id) || !isName(name) || (rest.length === 2 && !isId(rest[0] ?? ""))) return undefined;
  return { id, rest, path: `/${prefix}/${id}/${rest.join("/")}` };
}

export class VodFiles {
  readonly #reader: BlobReader;
  readonly #prefix: string;

  /** `prefix` "vod" (encoded assets) or "live" (live HLS: playlists change every segment). */
  constructor(reader: BlobReader, prefix: "vod" | "live" = "vod") {
    this.#reader = reader;
    this.#prefix = prefix;
  }

  /** The answer for a raw /vod/... path, or undefined (404). */
  async get(rawPath: string, range: string, ifNoneMatch: string): Promise<FileAnswer | undefined> {
    const v = vodPath(rawPath, this.#prefix);
    if (!v) return undefined;
    const name = v.rest.at(-1) ?? "";
    const spec = TYPES[path.extname(name)];
    if (!spec) return undefined;
    // Mutable, not cached for good: playlists, captions, and a live stream's card (renewed every 30 s).
    const liveCard = this.#prefix === "live" && name.endsWith(".jpg");
    const playlist = name.endsWith(".m3u8") || name.endsWith(".vtt") || liveCard;
    const blob = await this.#reader.get(v.path.slice(1), !playlist);
    if (!blob) return undefined;
    const size = blob.body.length;
    const etag = blob.info.etag;
    const cache = liveCard ? "public, max-age=10" : this.#prefix === "live" && playlist ? "public, max-age=1" : spec.cache;
    const headers = { "content-type": spec.type, "cache-control": cache, etag, "accept-ranges": "bytes" };
    if (ifNoneMatch && ifNoneMatch.split(",").some((t) => t.trim() === etag)) return { status: 304, body: Buffer.alloc(0), headers };
    const r = parseRange(range, size);
    if (r === "invalid") return { status: 416, body: Buffer.alloc(0), headers: { ...headers, "content-range": `bytes */${size}` } };
    if (!r) return { status: 200, body: blob.body, headers };
    return { status: 206, body: blob.body.subarray(r[0], r[1] + 1), headers: { ...headers, "content-range": `bytes ${r[0]}-${r[1]}/${size}` } };
  }
}

/** One "bytes=a-b" / "a-" / "-n" range; undefined when absent; "invalid" when unsatisfiable. */
export function parseRange(h: string, size: number): [number, number] | undefined | "invalid" {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "invalid";
  if (m[1] === "") {
    const n = Number(m[2]);
    return n === 0 ? "invalid" : [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || end < start ? "invalid" : [start, end];
}
