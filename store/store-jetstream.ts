/**
 * Distributed store: one NATS JetStream KV bucket per collection (`<namespace>_<collection>`),
 * history 1, replicated `replicas` times by NATS itself. Contract in store.ts.
 * Revisions are the bucket's stream sequence: they grow with every write, as the contract asks.
 */
import { connect, type KV, type KvEntry, type NatsConnection } from "nats";
import { AppError } from "../lib/errors.js";
import { checkKey, checkPrefix, conflict, type Entry, type PutOptions, type Store } from "./store.js";

export interface JetStreamStoreOptions {
  servers: string;
  namespace: string;
  replicas: number;
  name?: string;
}

export class JetStreamStore implements Store {
  readonly kind = "jetstream";
  readonly #nc: NatsConnection;
  readonly #opts: JetStreamStoreOptions;
  readonly #buckets = new Map<string, Promise<KV>>();

  private constructor(nc: NatsConnection, opts: JetStreamStoreOptions) {
    this.#nc = nc;
    this.#opts = opts;
  }

  /** Connects and keeps reconnecting for ever: a NATS restart is a pause, not a failure. */
  static async open(opts: JetStreamStoreOptions): Promise<JetStreamStore> {
    const nc = await connect({
      servers: opts.servers.split(","),
      name: opts.name ?? "esh-store",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    return new JetStreamStore(nc, opts);
  }

  async get<T extends object>(collection: string, key: string): Promise<Entry<T> | undefined> {
    checkKey(collection, key);
    const kv = await this.#bucket(collection);
    return toEntry<T>(await kv.get(key));
  }

  async put(collection: string, key: string, value: object, opts: PutOptions = {}): Promise<number> {
    checkKey(collection, key);
    const kv = await this.#bucket(collection);
    const data = new TextEncoder().encode(JSON.stringify(value));
    try {
      if (opts.expect === 0) return await kv.create(key, data);
      if (opts.expect !== undefined) return await kv.update(key, data, opts.expect);
      return await kv.put(key, data);
    } catch (err) {
      throw mapError(err, collection, key);
    }
  }

  async delete(collection: string, key: string, opts: PutOptions = {}): Promise<void> {
    checkKey(collection, key);
    const kv = await this.#bucket(collection);
    try {
      await kv.delete(key, opts.expect === undefined ? {} : { previousSeq: opts.expect });
    } catch (err) {
      throw mapError(err, collection, key);
    }
  }

  async list<T extends object>(collection: string, prefix = ""): Promise<Entry<T>[]> {
    checkPrefix(collection, prefix);
    const kv = await this.#bucket(collection);
    const keys: string[] = [];
    for await (const k of await kv.keys()) if (k.startsWith(prefix)) keys.push(k);
    keys.sort();
    const entries = await Promise.all(keys.map(async (k) => toEntry<T>(await kv.get(k))));
    return entries.filter((e): e is Entry<T> => e !== undefined);
  }

  async close(): Promise<void> {
    if (!this.#nc.isClosed()) await this.#nc.drain();
  }

  #bucket(collection: string): Promise<KV> {
    let kv = this.#buckets.get(collection);
    if (!kv) {
      kv = this.#nc.jetstream().views.kv(`${this.#opts.namespace}_${collection}`, { history: 1, replicas: this.#opts.replicas });
      // A failed open (NATS down at that moment) must not be cached for ever.
      kv.catch(() => this.#buckets.delete(collection));
      this.#buckets.set(collection, kv);
    }
    return kv;
  }
}

function toEntry<T>(e: KvEntry | null): Entry<T> | undefined {
  if (!e || e.operation !== "PUT") return undefined;
  return { key: e.key, value: JSON.parse(new TextDecoder().decode(e.value)) as T, revision: e.revision };
}

function mapError(err: unknown, collection: string, key: string): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (/wrong last sequence|key exists/i.test(msg)) return conflict(collection, key);
  return new AppError("UNAVAILABLE", `store unavailable: ${msg}`, { collection });
}
