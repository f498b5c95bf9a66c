/**
 * Blobs in a NATS JetStream object store (one bucket, `<namespace>_media` unless named): the
 * store every cluster already runs, replicated by the JetStream stream under it (R3 on a
 * three-server cluster), so media nodes, encoders and gateways share no disk. The object name
 * is the key. Objects are chunked (512 KiB); a range read reads the object and keeps the range
 * (media objects served by range are segments: small). ETag: the
 * object's SHA-256 digest. Every failure to reach the server is UNAVAILABLE (retryable).
 *
 * The bucket may live on NATS servers of its own (`blobs.natsUrl`), apart from the bus: media
 * traffic then never queues behind actor calls, and each can be scaled and lost alone.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { connect, StorageType, type JetStreamManager, type NatsConnection, type ObjectInfo, type ObjectStore } from "nats";
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

  private constructor(nc: NatsConnection, os: ObjectStore, jsm: JetStreamManager, bucket: string) {
    this.#nc = nc;
    this.#os = os;
    this.#jsm = jsm;
    this.#bucket = bucket;
    this.#stream = `OBJ_${bucket}`;
  }

  static async open(o: NatsBlobsOptions): Promise<NatsBlobs> {
    const nc = await connect({ servers: o.servers.split(","), name: "esh-blobs", maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true });
    const js = nc.jetstream({ timeout: o.timeoutMs ?? 5000 });
    const bucket = o.bucket.replace(/[^A-Za-z0-9_-]/g, "_");
    const os = await js.views.os(bucket, { replicas: o.replicas, storage: StorageType.File });
    return new NatsBlobs(nc, os, await nc.jetstreamManager({ timeout: o.timeoutMs ?? 5000 }), bucket);
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
    });
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
      const r = await this.#os.get(key);
      if (!r) return undefined;
      const [start, end] = range ?? [0, r.info.size - 1];
      const parts: Buffer[] = [];
      let at = 0;
      // Read to the end: the client cannot stop an object's chunk stream midway cleanly.
      for await (const value of r.data as unknown as AsyncIterable<Uint8Array>) { // node's web streams iterate
        const from = at;
        at += value.length;
        if (at <= start || from > end) continue;
        parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength).subarray(Math.max(0, start - from), Math.max(0, end + 1 - from)));
      }
      const err = await r.error;
      if (err) throw err;
      return { info: info(r.info), body: Buffer.concat(parts) };
    });
  }

  async getFile(key: string, file: string): Promise<BlobInfo | undefined> {
    checkKey(key);
    return this.#do("get", async () => {
      const r = await this.#os.get(key);
      if (!r) return undefined;
      const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        await pipeline(Readable.fromWeb(r.data), createWriteStream(tmp));
        const err = await r.error;
        if (err) throw err;
        await rename(tmp, file);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw e;
      }
      return info(r.info);
    });
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    checkPrefix(prefix);
    return this.#do("list", async () =>
      (await this.#os.list())
        .filter((i) => !i.deleted && i.name.startsWith(prefix))
        .map(info)
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    );
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.#do("delete", async () => {
      const i = await this.#os.info(key);
      if (!i) return;
      if (!i.deleted) await this.#os.delete(key);
      // The client leaves a "deleted" record per name, which every list reads for good: names
      // that are never reused (live segments) would make listing slower forever. Purge it.
      await this.#jsm.streams.purge(this.#stream, { filter: `$O.${this.#bucket}.M.${Buffer.from(key).toString("base64").replace(/\+/g, "-").replace(/\//g, "_")}` });
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

  async #do<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw unavailable(what, err);
    }
  }
}

function info(i: ObjectInfo): BlobInfo {
  return { key: i.name, size: i.size, etag: `"${i.digest.replace(/^SHA-256=/, "").replace(/[^A-Za-z0-9]/g, "").slice(0, 27)}"`, modified: Date.parse(i.mtime) || 0 };
}
