/**
 * The files a gateway serves: the web app (/app/; the bare origin redirects there), VOD (/vod/)
 * and live HLS (/live/) from the blob store, or through the edge cache on an edge gateway, with Range,
 * ETag and cache headers, entitlement (media-access.ts) for private streams, and playlists
 * signed for players that cannot send headers.
 */
import path from "node:path";
import { AppError } from "../../lib/errors.js";
import type { BlobReader } from "./blob-reader.js";
import type { EdgeCache } from "./edge-cache.js";
import type { Exchange } from "./exchange.js";
import type { MediaAccess } from "./media-access.js";
import { signPlaylist, type PlaybackSigner } from "./playback.js";
import { StaticFiles } from "./static.js";
import { VodFiles, vodPath, type FileAnswer } from "./vod-files.js";

export interface FileServerDeps {
  /** Media objects, read through the gateway's cache. */
  reader: BlobReader;
  /** The built web app (web/app/dist). */
  appDir: string;
  /** Set on an edge gateway: /vod/ comes from its origin through this cache. */
  edge: EdgeCache | undefined;
  access: MediaAccess;
  signer: PlaybackSigner;
  /** Security headers of HTML pages (CSP naming the announced edges). */
  pageHeaders(): Record<string, string>;
}

export class FileServer {
  readonly #d: FileServerDeps;
  readonly #app: StaticFiles;
  readonly #vod: VodFiles;
  readonly #live: VodFiles;

  constructor(d: FileServerDeps) {
    this.#d = d;
    this.#app = new StaticFiles(d.appDir);
    this.#vod = new VodFiles(d.reader);
    this.#live = new VodFiles(d.reader, "live");
  }

  async serve(ex: Exchange): Promise<void> {
    const url = ex.head.url;
    if (url.startsWith("/live/")) return this.#serveLive(ex, this.#d.edge ? false : await this.#privacy(ex, "live"));
    if (url.startsWith("/vod/")) return this.#serveVod(ex, this.#d.edge ? false : await this.#privacy(ex, "vod"));
    if (url === "/" || url === "/index.html") return ex.send(302, "", { location: "/app/", "cache-control": "no-cache" });
    const file = url === "/app" || url.startsWith("/app/") ? await this.#appFile(url) : undefined;
    if (!file) throw new AppError("NOT_FOUND", "No such file");
    ex.send(200, file.body, { "content-type": file.type, "cache-control": "no-cache", ...(file.type.startsWith("text/html") ? this.#d.pageHeaders() : {}) });
  }

  /** Entitlement where the files are (an edge, which may stand outside the cluster, forwards
   *  the viewer's credential and keeps only what its origin calls public); true = private. */
  async #privacy(ex: Exchange, kind: "live" | "vod"): Promise<boolean> {
    const id = vodPath(ex.head.url, kind)?.id;
    if (!id) throw new AppError("NOT_FOUND", "No such file");
    return (await this.#d.access.check(kind, id, ex.head)).private;
  }

  async #serveLive(ex: Exchange, privateFile: boolean): Promise<void> {
    const { url, query, authorization, extra } = ex.head;
    const edge = this.#d.edge;
    const edgePath = edge ? vodPath(url, "live")?.path : undefined;
    if (edge && !edgePath) throw new AppError("NOT_FOUND", "No such file");
    const f = edge && edgePath ? await edge.get(edgePath, extra.range, extra["if-none-match"], { pt: query.get("pt"), authorization }) : await this.#live.get(url, extra.range, extra["if-none-match"]);
    if (!f) throw new AppError("NOT_FOUND", "No such file");
    ex.send(f.status, f.body, unshared(f.headers, privateFile));
  }

  async #serveVod(ex: Exchange, privateFile: boolean): Promise<void> {
    const { url, query, authorization, extra } = ex.head;
    const edge = this.#d.edge;
    const edgePath = edge ? vodPath(url)?.path : undefined;
    if (edge && !edgePath) throw new AppError("NOT_FOUND", "No such file");
    const credential = { pt: query.get("pt"), authorization };
    const f = edge && edgePath ? await edge.get(edgePath, extra.range, extra["if-none-match"], credential) : await this.#vod.get(url, extra.range, extra["if-none-match"]);
    if (!f) throw new AppError("NOT_FOUND", "No such file");
    const pt = query.get("pt");
    if (pt !== null && url.endsWith(".m3u8")) return this.#signedPlaylist(ex, f, pt);
    ex.send(f.status, f.body, unshared(f.headers, privateFile));
  }

  /** A signed playlist: its variant and key URLs carry the signature; whole (players such as
   *  ffmpeg ask for "bytes=0-"), never cached shared. */
  async #signedPlaylist(ex: Exchange, f: FileAnswer, pt: string): Promise<void> {
    const url = ex.head.url;
    if (!(await this.#d.signer.verify(vodPath(url)?.id ?? "", pt))) throw new AppError("FORBIDDEN", "The playback URL is invalid or expired");
    const whole = f.status === 200 ? f : await this.#playlistFile(url);
    if (!whole) throw new AppError("NOT_FOUND", "No such file");
    const headers = Object.fromEntries(Object.entries(whole.headers).filter(([k]) => k !== "content-range" && k !== "etag"));
    ex.send(200, signPlaylist(whole.body.toString("utf8"), pt), { ...headers, "cache-control": "private, no-store" });
  }

  #playlistFile(url: string): Promise<FileAnswer | undefined> {
    const p = vodPath(url)?.path;
    return this.#d.edge && p ? this.#d.edge.get(p, "", "") : this.#vod.get(url, "", "");
  }

  async #appFile(url: string): Promise<{ body: Buffer; type: string } | undefined> {
    const rest = url.slice("/app".length) || "/";
    const file = await this.#app.get(rest);
    if (file) return file;
    // A route of the app (/app/search, /app/watch/x): its shell, which routes on the client.
    return path.extname(rest) === "" ? this.#app.get("/index.html") : undefined;
  }
}

/** A private stream's files are never kept by shared caches. */
function unshared(h: Record<string, string>, privateFile: boolean): Record<string, string> {
  return privateFile ? { ...h, "cache-control": "private, no-store" } : h;
}
