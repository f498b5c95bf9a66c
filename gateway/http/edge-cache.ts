/**
 * Edge mode: a gateway given an origin URL (`ESH_GATEWAY_EDGE_ORIGIN`) serves /vod/ files from
 * a bounded two-level LRU — memory, then disk under DATA_DIR/edge-cache — and fetches misses
 * from the origin. Simultaneous misses for one path share one origin fetch (request
 * coalescing), so a cold segment wanted by N viewers costs the origin one request. Entries
 * live as long as the origin's Cache-Control allows (segments: immutable); a 404 is remembered
 * for NEGATIVE_TTL_MS. An origin that fails (5xx, unreachable, timeout) is UNAVAILABLE (503,
 * retryable), never a client error. The edge checks entitlement itself before it looks here
 * (media-access.ts) and forwards the viewer's credential on a miss (private assets).
 */
import { createHash } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../../lib/errors.js";
import { parseRange, type FileAnswer } from "./vod-files.js";

interface Entry {
  body: Buffer;
  type: string;
  cache: string;
  etag: string;
  expiresAt: number;
}

type Meta = Omit<Entry, "body"> & { size: number };

export interface EdgeStats {
  hits: number;
  misses: number;
  originFetches: number;
  memoryBytes: number;
  diskBytes: number;
}

const ORIGIN_TIMEOUT_MS = 10_000;
/** How long an origin 404 is answered from here. */
export const NEGATIVE_TTL_MS = 2000;
/** The longest an edge keeps a file, whatever the origin allows: an edge outside the cluster
 *  hears of no deletion or visibility change, so this bounds how long it may serve a file the
 *  origin would now refuse. Edges in the cluster drop a stream's files at once (streams.changed). */
export const EDGE_MAX_AGE_SEC = 300;

/** What a miss carries to the origin: the viewer's signed-URL token or Authorization. */
export interface OriginCredential {
  pt?: string | null;
  authorization?: string;
}

export class EdgeCache {
  readonly #origin: string;
  readonly #dir: string;
  readonly #maxMemory: number;
  readonly #maxDisk: number;
  readonly #memory = new Map<string, Entry>(); // insertion order = LRU order
  readonly #disk = new Map<string, Meta>();
  readonly #inflight = new Map<string, Promise<Entry | 404>>();
  /** Paths the origin answered 404, until when. */
  readonly #missing = new Map<string, number>();
  readonly stats: EdgeStats = { hits: 0, misses: 0, originFetches: 0, memoryBytes: 0, diskBytes: 0 };

  constructor(origin: string, dataDir: string, maxMemory: number, maxDisk: number) {
    this.#origin = origin.replace(/\/+$/, "");
    this.#dir = path.join(dataDir, "edge-cache");
    rmSync(this.#dir, { recursive: true, force: true }); // the index lives in memory: start clean
    mkdirSync(this.#dir, { recursive: true });
    this.#maxMemory = maxMemory;
    this.#maxDisk = maxDisk;
  }

  /** The answer for a /vod/ path (already validated by the caller's router rules). */
  async get(urlPath: string, range: string, ifNoneMatch: string, credential: OriginCredential = {}): Promise<FileAnswer | undefined> {
    const entry = await this.#lookup(urlPath, credential);
    if (entry === 404) return undefined;
    const headers = { "content-type": entry.type, "cache-control": entry.cache, etag: entry.etag, "accept-ranges": "bytes", "x-cache": "edge" };
    if (ifNoneMatch && entry.etag && ifNoneMatch.split(",").some((t) => t.trim() === entry.etag)) return { status: 304, body: Buffer.alloc(0), headers };
    const r = parseRange(range, entry.body.length);
    if (r === "invalid") return { status: 416, body: Buffer.alloc(0), headers: { ...headers, "content-range": `bytes */${entry.body.length}` } };
    if (!r) return { status: 200, body: entry.body, headers };
    return { status: 206, body: entry.body.subarray(r[0], r[1] + 1), headers: { ...headers, "content-range": `bytes ${r[0]}-${r[1]}/${entry.body.length}` } };
  }

  async #lookup(key: string, credential: OriginCredential): Promise<Entry | 404> {
    const now = Date.now();
    const missing = this.#missing.get(key);
    if (missing !== undefined && missing > now) {
      this.stats.hits++;
      return 404;
    }
    const mem = this.#memory.get(key);
    if (mem && mem.expiresAt > now) {
      this.#memory.delete(key);
      this.#memory.set(key, mem); // most recently used
      this.stats.hits++;
      return mem;
    }
    const disk = this.#disk.get(key);
    if (disk && disk.expiresAt > now) {
      const body = await readFile(this.#file(key)).catch(() => undefined);
      if (body) {
        this.stats.hits++;
        const e: Entry = { ...disk, body };
        this.#remember(key, e);
        return e;
      }
    }
    this.stats.misses++;
    const shared = this.#inflight.get(key);
    if (shared) {
      // Another viewer's private file is theirs, and their refusal is not ours: then we ask
      // the origin with our own credential.
      const got = await shared.catch((err: unknown) => {
        if ((err as { type?: string }).type === "FORBIDDEN") return undefined;
        throw err;
      });
      return got === undefined || (got !== 404 && got.expiresAt === 0) ? this.#fetch(key, credential) : got;
    }
    const p = this.#fetch(key, credential).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #fetch(key: string, credential: OriginCredential): Promise<Entry | 404> {
    this.stats.originFetches++;
    const url = `${this.#origin}${key}${credential.pt ? `?pt=${encodeURIComponent(credential.pt)}` : ""}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(ORIGIN_TIMEOUT_MS), headers: credential.authorization ? { authorization: credential.authorization } : {} });
    } catch (err) {
      throw new AppError("UNAVAILABLE", `The origin did not answer: ${err instanceof Error ? err.message : String(err)}`, { retryAfterSec: 1 });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      if (this.#missing.size > 100_000) this.#missing.clear();
      this.#missing.set(key, Date.now() + NEGATIVE_TTL_MS);
      return 404;
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new AppError("FORBIDDEN", "The origin refused this file");
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new AppError("UNAVAILABLE", `The origin answered ${res.status}: retry shortly`, { retryAfterSec: 1 });
    }
    this.#missing.delete(key);
    const control = res.headers.get("cache-control") ?? "";
    if (/\b(private|no-store)\b/.test(control)) {
      // A private asset's file: handed to this viewer (the origin checked them), never kept.
      return { body: Buffer.from(await res.arrayBuffer()), type: res.headers.get("content-type") ?? "application/octet-stream", cache: control, etag: res.headers.get("etag") ?? "", expiresAt: 0 };
    }
    const body = Buffer.from(await res.arrayBuffer());
    const cache = res.headers.get("cache-control") ?? "public, max-age=60";
    const maxAge = Math.min(EDGE_MAX_AGE_SEC, Number(/max-age=(\d+)/.exec(cache)?.[1] ?? 60));
    const e: Entry = { body, type: res.headers.get("content-type") ?? "application/octet-stream", cache, etag: res.headers.get("etag") ?? "", expiresAt: Date.now() + maxAge * 1000 };
    this.#remember(key, e);
    await this.#spill(key, e);
    return e;
  }

  /** Drops every cached file under a prefix (a deleted stream's). */
  purge(prefix: string): void {
    for (const [k, e] of this.#memory) {
      if (!k.startsWith(prefix)) continue;
      this.#memory.delete(k);
      this.stats.memoryBytes -= e.body.length;
    }
    for (const [k, m] of this.#disk) {
      if (!k.startsWith(prefix)) continue;
      this.#disk.delete(k);
      this.stats.diskBytes -= m.size;
      void unlink(this.#file(k)).catch(() => undefined);
    }
    for (const k of this.#missing.keys()) if (k.startsWith(prefix)) this.#missing.delete(k);
  }

  #remember(key: string, e: Entry): void {
    const old = this.#memory.get(key);
    if (old) this.stats.memoryBytes -= old.body.length;
    this.#memory.delete(key);
    if (e.body.length > this.#maxMemory) return;
    this.#memory.set(key, e);
    this.stats.memoryBytes += e.body.length;
    for (const [k, v] of this.#memory) {
      if (this.stats.memoryBytes <= this.#maxMemory) break;
      this.#memory.delete(k);
      this.stats.memoryBytes -= v.body.length;
    }
  }

  async #spill(key: string, e: Entry): Promise<void> {
    if (e.body.length > this.#maxDisk) return;
    const { body, ...meta } = e;
    await writeFile(this.#file(key), body).catch(() => undefined);
    const old = this.#disk.get(key);
    if (old) this.stats.diskBytes -= old.size;
    this.#disk.delete(key);
    this.#disk.set(key, { ...meta, size: body.length });
    this.stats.diskBytes += body.length;
    for (const [k, v] of this.#disk) {
      if (this.stats.diskBytes <= this.#maxDisk) break;
      this.#disk.delete(k);
      this.stats.diskBytes -= v.size;
      await unlink(this.#file(k)).catch(() => undefined);
    }
  }

  #file(key: string): string {
    return path.join(this.#dir, createHash("sha256").update(key).digest("hex"));
  }
}
