/**
 * Blobs in a NATS JetStream object store (one bucket, `<namespace>_media` unless named): the
 * store every cluster already runs, replicated by the JetStream stream under it (R3 on a
 * three-server cluster), so media nodes, encoders and gateways share no disk. The object name
 * is the key. Objects are chunked (512 KiB); a read fetches the object's record, then its chunks
 * one request each (a range read keeps the range: media objects are at most one upload chunk). ETag: the
 * object's SHA-256 digest. Every failure to reach the server is UNAVAILABLE (retryable).
 *
 * The bucket may live on NATS servers of its own (`blobs.natsUrl`), apart from the bus: media
 * traffic then never queues behind actor calls, and each can be scaled and lost alone.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { connect, StorageType, type JetStreamManager, type MsgRequest, type NatsConnection, type ObjectInfo, type ObjectStore } from "nats";
import { AppError } from "../lib/errors.js";
import { checkKey, checkPrefix, unavailable, type Blob, type BlobInfo, type BlobStore } from "./blobs.js";

const CHUNK = 512 * 1024;

export interface NatsBlobsOptions {
  servers: string;
  bucket: string;
  replicas: number;
  /** How long one request to the server may take before the store counts as unreachable. */
  timeoutMs?: number;
}

export class NatsBlobs implements BlobStore {
  readonly kind = "nats";
  readonly #nc: NatsConnection;
  readonly #os: ObjectStore;
  readonly #jsm: JetStreamManager;
  readonly #bucket: string;
  readonly #stream: string;
  readonly #timeoutMs: number;

  private constructor(nc: NatsConnection, os: ObjectStore, jsm: JetStreamManager, bucket: string, timeoutMs: number) {
    this.#nc = nc;
    this.#os = os;
    this.#jsm = jsm;
    this.#bucket = bucket;
    this.#stream = `OBJ_${bucket}`;
    this.#timeoutMs = timeoutMs;
  }

  static async open(o: NatsBlobsOptions): Promise<NatsBlobs> {
    const nc = await connect({ servers: o.servers.split(","), name: "esh-blobs", maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true });
    const js = nc.jetstream({ timeout: o.timeoutMs ?? 5000 });
    const bucket = o.bucket.replace(/[^A-Za-z0-9_-]/g, "_");
    const os = await js.views.os(bucket, { replicas: o.replicas, storage: StorageType.File });
    return new NatsBlobs(nc, os, await nc.jetstreamManager({ timeout: o.timeoutMs ?? 5000 }), bucket, o.timeoutMs ?? 5000);
  }

  async put(key: string, data: Uint8Array): Promise<BlobInfo> {
    checkKey(key);
    return this.#do("put", async () => info(await this.#os.putBlob({ name: key, options: { max_chunk_size: CHUNK } }, data)));
  }

  async putFile(key: string, file: string): Promise<BlobInfo> {
    checkKey(key);
    return this.#do("put", async () => {
      const rs = Readable.toWeb(createReadStream(file, { highWaterMark: CHUNK })) as unknown as ReadableStream<Uint8Array>; // node's web stream is the DOM one at run time
      return info(await this.#os.put({ name: key, options: { max_chunk_size: CHUNK } }, rs));
    }, false);
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    checkKey(key);
    return this.#do("stat", async () => {
      const i = await this.#os.info(key);
      return i && !i.deleted ? info(i) : undefined;
    });
  }

  async get(key: string, range?: readonly [number, number]): Promise<Blob | undefined> {
    checkKey(key);
    return this.#do("get", async () => {
      // The object's record, then its chunks one request each (no consumer: the client's own
      // chunk stream can wait for good when the object is replaced while it reads). A chunk
      // gone meanwhile means a newer version: read that one instead.
      for (let attempt = 0; ; attempt++) {
        const i = await this.#os.info(key);
        if (!i || i.deleted) return undefined;
        const body = await this.#chunks(i).catch((err: unknown) => {
          if (attempt < 3 && /no message found/i.test(String(err))) return undefined;
          throw err;
        });
        if (!body) continue;
        const [start, end] = range ?? [0, i.size - 1];
        return { info: info(i), body: range ? body.subarray(start, end + 1) : body };
      }
    });
  }

  async #chunks(i: ObjectInfo): Promise<Buffer> {
    const subject = `$O.${this.#bucket}.C.${i.nuid}`;
    const parts: Uint8Array[] = [];
    let seq = 0;
    for (let n = 0; n < i.chunks; n++) {
      // Typed for the direct API only; the stream API takes the same request (nats-server 2.9+).
      const m = await this.#jsm.streams.getMessage(this.#stream, { seq, next_by_subj: subject } as unknown as MsgRequest);
      parts.push(m.data);
      seq = m.seq + 1;
    }
    const body = Buffer.concat(parts);
    if (body.length !== i.size) throw new Error(`no message found: ${String(body.length)} of ${String(i.size)} bytes`);
    return body;
  }

  /** The names come from the stream's meta subjects (one request, paged by the client), not
   *  from the client's list(), whose consumer can wait for good when a purge (a delete, an
   *  overwrite) lands while it reads; then each object's record, for its size and digest. */
  async list(prefix: string): Promise<BlobInfo[]> {
    checkPrefix(prefix);
    return this.#do("list", async () => {
      const meta = `$O.${this.#bucket}.M.`;
      const si = await this.#jsm.streams.info(this.#stream, { subjects_filter: `${meta}>` });
      const names = Object.keys(si.state.subjects ?? {}).map((subj) => fromSubject(subj.slice(meta.length))).filter((n) => n.startsWith(prefix));
      const out: BlobInfo[] = [];
      for (const n of names) {
        const i = await this.#os.info(n);
        if (i && !i.deleted) out.push(info(i));
      }
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    });
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.#do("delete", async () => {
      const i = await this.#os.info(key);
      if (!i) return;
      if (!i.deleted) await this.#os.delete(key);
      // The client leaves a "deleted" record per name, which every list reads for good: names
      // that are never reused (live segments) would make listing slower forever. Purge it.
      await this.#jsm.streams.purge(this.#stream, { filter: `$O.${this.#bucket}.M.${toSubject(key)}` });
    });
  }

  async deletePrefix(prefix: string): Promise<number> {
    const all = await this.list(prefix);
    for (const b of all) await this.delete(b.key);
    return all.length;
  }

  async close(): Promise<void> {
    await this.#nc.drain().catch(() => undefined);
  }

  /** Every call is bounded by the timeout (a chunk stream whose object is replaced while it is
   *  read can wait for good in the client): past it, UNAVAILABLE, and the caller tries again. */
  async #do<T>(what: string, fn: () => Promise<T>, bounded = true): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const work = fn();
      if (!bounded) return await work;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${String(this.#timeoutMs)} ms`)), this.#timeoutMs);
      });
      work.catch(() => undefined); // settled later, after the timeout: not an unhandled rejection
      return await Promise.race([work, late]);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw unavailable(what, err);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** An object's name in its meta subject: base64url with padding, as the client writes it. */
function toSubject(name: string): string {
  return Buffer.from(name).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

function fromSubject(token: string): string {
  return Buffer.from(token.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8");
}

function info(i: ObjectInfo): BlobInfo {
  return { key: i.name, size: i.size, etag: `"${i.digest.replace(/^SHA-256=/, "").replace(/[^A-Za-z0-9]/g, "").slice(0, 27)}"`, modified: Date.parse(i.mtime) || 0 };
}
