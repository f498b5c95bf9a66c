/**
 * Serves encoded assets from DATA_DIR/vod/<id>/: playlists, segments, poster and sprite, with
 * the right MIME types, ETag / If-None-Match, single byte ranges, and Cache-Control (segments
 * and images immutable; VOD playlists a few minutes). Only these file shapes exist; the path
 * was decoded and checked segment by segment, and the resolved file must stay inside the root.
 */
import { open, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { decodePath } from "./router.js";
import { isId } from "../../protocol/ids.js";

const TYPES: Record<string, { type: string; cache: string }> = {
  ".m3u8": { type: "application/vnd.apple.mpegurl", cache: "public, max-age=300" },
  ".ts": { type: "video/mp2t", cache: "public, max-age=31536000, immutable" },
  ".m4s": { type: "video/iso.segment", cache: "public, max-age=31536000, immutable" },
  ".mp4": { type: "video/mp4", cache: "public, max-age=31536000, immutable" },
  ".jpg": { type: "image/jpeg", cache: "public, max-age=31536000, immutable" },
};
/** A file name: an id, a dot, and one of the served extensions. */
const NAME = /^([^.]+)\.(m3u8|ts|m4s|mp4|jpg)$/;
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
  readonly #root: string;
  readonly #prefix: string;
  /** The root with symlinks resolved, looked up once (not on every request). */
  #realRoot: Promise<string> | undefined;

  /** `prefix` "vod" (encoded assets) or "live" (live HLS: playlists change every segment). */
  constructor(dataDir: string, prefix: "vod" | "live" = "vod") {
    this.#root = path.resolve(dataDir, prefix);
    this.#prefix = prefix;
  }

  /** The answer for a raw /vod/... path, or undefined (404). */
  async get(rawPath: string, range: string, ifNoneMatch: string): Promise<FileAnswer | undefined> {
    const v = vodPath(rawPath, this.#prefix);
    if (!v) return undefined;
    const { id, rest } = v;
    const name = rest.at(-1) ?? "";
    const file = path.join(this.#root, id, ...rest);
    let real: string;
    try {
      real = await realpath(file);
    } catch {
      return undefined;
    }
    this.#realRoot ??= realpath(this.#root).catch(() => {
      this.#realRoot = undefined; // not there yet (nothing encoded): look again next time
      return this.#root;
    });
    if (!real.startsWith(`${await this.#realRoot}${path.sep}`)) return undefined;
    const st = await stat(real);
    if (!st.isFile()) return undefined;
    const spec = TYPES[path.extname(name)];
    if (!spec) return undefined;
    const etag = `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
    const cache = this.#prefix === "live" && name.endsWith(".m3u8") ? "public, max-age=1" : spec.cache;
    const headers = { "content-type": spec.type, "cache-control": cache, etag, "accept-ranges": "bytes" };
    if (ifNoneMatch && ifNoneMatch.split(",").some((t) => t.trim() === etag)) return { status: 304, body: Buffer.alloc(0), headers };
    const r = parseRange(range, st.size);
    if (r === "invalid") return { status: 416, body: Buffer.alloc(0), headers: { ...headers, "content-range": `bytes */${st.size}` } };
    const [start, end] = r ?? [0, st.size - 1];
    const body = Buffer.alloc(Math.max(0, end - start + 1));
    const fh = await open(real, "r");
    try {
      await fh.read(body, 0, body.length, start);
    } finally {
      await fh.close();
    }
    return r ? { status: 206, body, headers: { ...headers, "content-range": `bytes ${start}-${end}/${st.size}` } } : { status: 200, body, headers };
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
