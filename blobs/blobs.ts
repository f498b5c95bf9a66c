/**
 * The blob store: everything media-sized, by key. Upload parts, encoded VOD ladders (playlists,
 * segments, poster, sprite), live HLS, recordings. Two backends implement this one contract:
 *   blobs-dir.ts   a local directory (embedded: DATA_DIR, as before)
 *   blobs-nats.ts  a NATS JetStream object store (a cluster: replicated by NATS, no shared disk)
 * blobs.contract.ts is a test suite both backends pass. index.ts picks one from the config.
 *
 * Contract:
 * - Keys are 1..8 segments joined by "/", each [A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}: a key never
 *   reaches a path or a subject unchecked (BAD_REQUEST). Layout: `vod/<stream>/...`,
 *   `live/<stream>/...`, `uploads/<stream>/<from>-<to>` (one per upload chunk); everything of a stream is under one of
 *   `blobPrefixes(id)`.
 * - `put` and `putFile` replace the object whole: a reader sees the old bytes or the new, never
 *   a mix, and a write that returned is durable (the directory: renamed into place after the
 *   write; JetStream: acknowledged by the stream's replicas).
 * - `etag` changes whenever the bytes may have (a quoted string, HTTP-ready).
 * - `get` with a range [start, end] (inclusive, already clamped to the size) returns those bytes.
 * - `list(prefix)` returns the objects whose key starts with `prefix` (ending in "/"), by key.
 * - A backend that cannot be reached answers UNAVAILABLE (retryable), never a client error.
 */
import { AppError } from "../lib/errors.js";

export interface BlobInfo {
  key: string;
  size: number;
  /** Quoted, for the ETag header. */
  etag: string;
  /** Last write, ms since the epoch. */
  modified: number;
}

export interface Blob {
  info: BlobInfo;
  body: Buffer;
}

export interface BlobStore {
  readonly kind: "dir" | "nats";
  put(key: string, data: Uint8Array): Promise<BlobInfo>;
  /** Streams a local file into the store (big objects: recordings, sources). */
  putFile(key: string, file: string): Promise<BlobInfo>;
  stat(key: string): Promise<BlobInfo | undefined>;
  get(key: string, range?: readonly [number, number]): Promise<Blob | undefined>;
  list(prefix: string): Promise<BlobInfo[]>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object under the prefix; returns how many there were. */
  deletePrefix(prefix: string): Promise<number>;
  close(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export function isBlobKey(key: string): boolean {
  const segs = key.split("/");
  return segs.length >= 1 && segs.length <= 8 && segs.every((s) => SEGMENT.test(s));
}

export function checkKey(key: string): string {
  if (!isBlobKey(key)) throw new AppError("BAD_REQUEST", "Invalid blob key");
  return key;
}

/** A prefix is a key's leading segments followed by "/". */
export function checkPrefix(prefix: string): string {
  if (!prefix.endsWith("/") || !isBlobKey(prefix.slice(0, -1))) throw new AppError("BAD_REQUEST", "Invalid blob prefix");
  return prefix;
}

/** Where a stream's objects live: deleting the stream deletes these. */
export function blobPrefixes(streamId: string): string[] {
  return ["vod", "live", "uploads"].map((p) => checkPrefix(`${p}/${streamId}/`));
}

/** Deletes every media object of a stream (its upload, ladder, live HLS); how many there were. */
export async function deleteStreamObjects(blobs: BlobStore, streamId: string): Promise<number> {
  let n = 0;
  for (const prefix of blobPrefixes(streamId)) n += await blobs.deletePrefix(prefix);
  return n;
}

/** The key of an upload's part holding bytes [from, to) (ordered by key = ordered by offset).
 *  Both ends are in the key: a write that lost its lease and lands late can never replace a
 *  committed part (sources.ts follows the parts that chain up to the length). */
export function partKey(streamId: string, from: number, to: number): string {
  return checkKey(`uploads/${streamId}/${String(from).padStart(15, "0")}-${String(to).padStart(15, "0")}`);
}

/** [from, to) of a part's key, or undefined. */
export function partRange(key: string): [number, number] | undefined {
  const m = /\/(\d{15})-(\d{15})$/.exec(key);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function unavailable(what: string, err: unknown): AppError {
  return new AppError("UNAVAILABLE", `The blob store did not answer (${what}): ${err instanceof Error ? err.message : String(err)}`, { retryAfterSec: 1 });
}

/**
 * Runs `fn` again while it fails with a retryable error (the store away for a while), up to
 * `forMs`, waiting 250 ms doubling to 2 s between tries. Other errors are thrown at once.
 */
export async function retrying<T>(fn: () => Promise<T>, forMs: number, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let wait = 250; ; wait = Math.min(wait * 2, 2000)) {
    try {
      return await fn();
    } catch (err) {
      const retryable = (err as { retryable?: boolean }).retryable === true;
      if (!retryable || Date.now() + wait > deadline || signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
