/**
 * A gateway's reads of media objects from the blob store: simultaneous reads of one object
 * share one store read (request coalescing: a cold segment wanted by N viewers costs the store
 * one read), and what was read stays in a bounded LRU in memory — immutable objects (segments,
 * images) until evicted or purged, others (playlists) for MUTABLE_TTL_MS, as long as players
 * may cache them anyway. A stream's objects are purged when it is deleted. A size of 0 turns
 * both off.
 */
import type { Blob, BlobStore } from "../../blobs/index.js";

export const MUTABLE_TTL_MS = 500;

interface Cached {
  blob: Blob;
  until: number;
}

export interface BlobReaderStats {
  hits: number;
  storeReads: number;
  bytes: number;
}

export class BlobReader {
  readonly #blobs: BlobStore;
  readonly #maxBytes: number;
  readonly #lru = new Map<string, Cached>(); // insertion order = LRU order
  readonly #inflight = new Map<string, Promise<Blob | undefined>>();
  readonly stats: BlobReaderStats = { hits: 0, storeReads: 0, bytes: 0 };

  constructor(blobs: BlobStore, maxBytes: number) {
    this.#blobs = blobs;
    this.#maxBytes = maxBytes;
  }

  async get(key: string, immutable: boolean): Promise<Blob | undefined> {
    if (this.#maxBytes === 0) { // off: every request reads the store (the storage bench's cold path)
      this.stats.storeReads++;
      return this.#blobs.get(key);
    }
    const c = this.#lru.get(key);
    if (c && c.until > Date.now()) {
      this.#lru.delete(key);
      this.#lru.set(key, c);
      this.stats.hits++;
      return c.blob;
    }
    const shared = this.#inflight.get(key);
    if (shared) return shared;
    const p = this.#read(key, immutable).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  purge(prefix: string): void {
    for (const [k, c] of this.#lru) if (k.startsWith(prefix)) this.#drop(k, c);
  }

  async #read(key: string, immutable: boolean): Promise<Blob | undefined> {
    this.stats.storeReads++;
    const blob = await this.#blobs.get(key);
    if (!blob) return undefined;
    const old = this.#lru.get(key);
    if (old) this.#drop(key, old);
    if (blob.body.length <= this.#maxBytes / 4) {
      this.#lru.set(key, { blob, until: immutable ? Infinity : Date.now() + MUTABLE_TTL_MS });
      this.stats.bytes += blob.body.length;
      for (const [k, v] of this.#lru) {
        if (this.stats.bytes <= this.#maxBytes) break;
        this.#drop(k, v);
      }
    }
    return blob;
  }

  #drop(key: string, c: Cached): void {
    this.#lru.delete(key);
    this.stats.bytes -= c.blob.body.length;
  }
}
