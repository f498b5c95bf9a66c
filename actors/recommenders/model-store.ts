/**
 * Where model versions live, as one blob each (weights, item ids, inverted-file index):
 *   files      DATA_DIR/models/recs-<version>.bin, the newest `keep` kept (every node);
 *   jetstream  a NATS object store `<namespace>_models` (distributed): the trainer puts each
 *              version there and announces it; scorers fetch it and serve it.
 * Blob layout: u32 header length, header JSON (version, dims, item ids, member lengths), then
 * float32 w, v, bias, centroids and int32 cluster members.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { connect, type NatsConnection, type ObjectStore } from "nats";
import type { ItemIndex } from "./ann.js";
import type { Weights } from "./model.js";

export interface Version {
  version: number;
  trainedAt: number;
  backend: string;
  trainMs: number;
  items: string[];
  weights: Weights;
  index?: ItemIndex;
}

interface Header {
  version: number;
  trainedAt: number;
  backend: string;
  trainMs: number;
  items: string[];
  dim: number;
  clusters: number;
  members: number[];
}

export function encodeVersion(v: Version): Buffer {
  const idx = v.index;
  const header: Header = { version: v.version, trainedAt: v.trainedAt, backend: v.backend, trainMs: v.trainMs, items: v.items, dim: v.weights.dim, clusters: idx?.clusters ?? 0, members: idx?.members.map((m) => m.length) ?? [] };
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  const f = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return Buffer.concat([len, h, f(v.weights.w), f(v.weights.v), f(v.weights.bias), ...(idx ? [f(idx.centroids), ...idx.members.map(f)] : [])]);
}

export function decodeVersion(buf: Uint8Array): Version {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const hl = b.readUInt32LE(0);
  const h = JSON.parse(b.subarray(4, 4 + hl).toString()) as Header;
  let at = 4 + hl;
  const take = <T extends Float32Array | Int32Array>(n: number, Kind: new (b: ArrayBuffer) => T): T => {
    const bytes = b.subarray(at, at + n * 4);
    at += n * 4;
    return new Kind(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  };
  const n = h.items.length;
  const weights: Weights = { items: n, dim: h.dim, w: take(n * h.dim, Float32Array), v: take(n * h.dim, Float32Array), bias: take(n, Float32Array) };
  const index = h.clusters > 0 ? { clusters: h.clusters, dim: h.dim + 1, centroids: take(h.clusters * (h.dim + 1), Float32Array), members: h.members.map((m) => take(m, Int32Array)) } : undefined;
  return { version: h.version, trainedAt: h.trainedAt, backend: h.backend, trainMs: h.trainMs, items: h.items, weights, ...(index ? { index } : {}) };
}

export interface ModelStore {
  save(v: Version): Promise<void>;
  latest(): Promise<Version | undefined>;
  /** The newest version's number, without fetching its blob (0: none). */
  latestVersion(): Promise<number>;
  close(): Promise<void>;
}

export class FileModelStore implements ModelStore {
  readonly #dir: string;
  readonly #keep: number;

  constructor(dir: string, keep: number) {
    this.#dir = dir;
    this.#keep = keep;
    mkdirSync(dir, { recursive: true });
  }

  save(v: Version): Promise<void> {
    writeFileSync(path.join(this.#dir, `recs-${String(v.version).padStart(6, "0")}.bin`), encodeVersion(v));
    const all = this.#files();
    for (const old of all.slice(0, Math.max(0, all.length - this.#keep))) rmSync(path.join(this.#dir, old), { force: true });
    return Promise.resolve();
  }

  latest(): Promise<Version | undefined> {
    const last = this.#files().at(-1);
    return Promise.resolve(last ? decodeVersion(readFileSync(path.join(this.#dir, last))) : undefined);
  }

  latestVersion(): Promise<number> {
    return Promise.resolve(Number(/\d+/.exec(this.#files().at(-1) ?? "")?.[0] ?? 0));
  }

  #files(): string[] {
    return readdirSync(this.#dir).filter((f) => /^recs-\d+\.bin$/.test(f)).sort();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The distributed store: one NATS object store; `latest` is a name the trainer overwrites. */
export class ObjectModelStore implements ModelStore {
  readonly #nc: NatsConnection;
  readonly #os: ObjectStore;

  private constructor(nc: NatsConnection, os: ObjectStore) {
    this.#nc = nc;
    this.#os = os;
  }

  static async open(servers: string, namespace: string, replicas: number): Promise<ObjectModelStore> {
    const nc = await connect({ servers: servers.split(","), name: "esh-models", maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    const os = await nc.jetstream().views.os(`${namespace || "esh"}_models`.replace(/[^A-Za-z0-9_-]/g, "_"), { replicas });
    return new ObjectModelStore(nc, os);
  }

  async save(v: Version): Promise<void> {
    await this.#os.putBlob({ name: "recs-latest", description: `model v${v.version}` }, encodeVersion(v));
  }

  /** Read off the object's description (`model v<n>`): no download. */
  async latestVersion(): Promise<number> {
    const info = await this.#os.info("recs-latest");
    return Number(/^model v(\d+)$/.exec(info?.description ?? "")?.[1] ?? 0);
  }

  async latest(): Promise<Version | undefined> {
    const blob = await this.#os.getBlob("recs-latest");
    return blob ? decodeVersion(blob) : undefined;
  }

  async close(): Promise<void> {
    await this.#nc.drain().catch(() => undefined);
  }
}
