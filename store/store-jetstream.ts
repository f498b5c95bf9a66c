/**
 * Distributed store: one NATS JetStream KV bucket per collection (`<namespace>_<collection>`),
 * history 1, replicated `replicas` times by NATS itself. Contract in store.ts.
 * Revisions are the bucket's stream sequence: they grow with every write, as the contract asks.
 */
import { connect, Events, type KV, type KvEntry, type NatsConnection } from "nats";
import { AppError } from "../lib/errors.js";
import { KvMirror } from "./kv-mirror.js";
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
  readonly #mirrors = new Map<string, KvMirror>();
  /** Highest revision this process wrote per collection: list() waits for its mirror to see it. */
  readonly #written = new Map<string, number>();
  /** Collections this process deleted from since its last list: a delete returns no revision,
   *  so the next list asks the bucket once for its last sequence (not once per delete). */

  private constructor(nc: NatsConnection, opts: JetStreamStoreOptions) {
    this.#nc = nc;
    this.#opts = opts;
    void this.#watchStatus();
  }

  /** After a reconnect the mirrors' watches may have missed updates: rebuild them. */
  async #watchStatus(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type !== Events.Reconnect) continue;
      for (const m of this.#mirrors.values()) m.stop();
      this.#mirrors.clear();
    }
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
    return this.#guard(collection, key, async () => toEntry<T>(await (await this.#bucket(collection)).get(key)));
  }

  async put(collection: string, key: string, value: object, opts: PutOptions = {}): Promise<number> {
    checkKey(collection, key);
    const data = new TextEncoder().encode(JSON.stringify(value));
    return this.#guard(collection, key, async () => {
      const kv = await this.#bucket(collection);
      const rev = opts.expect === 0 ? await kv.create(key, data) : opts.expect !== undefined ? await kv.update(key, data, opts.expect) : await kv.put(key, data);
      this.#wrote(collection, rev);
      return rev;
    });
  }

  async delete(collection: string, key: string, opts: PutOptions = {}): Promise<void> {
    checkKey(collection, key);
    await this.#guard(collection, key, async () => {
      await (await this.#bucket(collection)).delete(key, opts.expect === undefined ? {} : { previousSeq: opts.expect });
    });
  }

  /** Every NATS failure (a server gone, a stream leader being elected, a timeout) becomes a
   *  typed, retryable UNAVAILABLE; a failed compare-and-swap becomes CONFLICT. */
  async #guard<T>(collection: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw err instanceof AppError ? err : mapError(err, collection, key);
    }
  }

  async list<T extends object>(collection: string, prefix = ""): Promise<Entry<T>[]> {
    checkPrefix(collection, prefix);
    return this.#guard(collection, prefix, () => this.#list<T>(collection, prefix));
  }

  /**
   * Reads through the watch-fed mirror, but only once it holds everything the bucket held when
   * the list began (its last sequence, one round trip): other nodes' writes included, so a node
   * taking over a room loads its whole log. A mirror whose watch ended while we waited (a NATS
   * server died under it) is replaced and the wait repeated; past 5 s the list is UNAVAILABLE.
   */
  async #list<T extends object>(collection: string, prefix: string): Promise<Entry<T>[]> {
    const kv = await this.#bucket(collection);
    const last = Math.max((await kv.status()).streamInfo.state.last_seq, this.#written.get(collection) ?? 0);
    const deadline = Date.now() + 5000;
    let mirror = await this.#mirror(collection);
    for (;;) {
      await mirror.caughtUp(last, Math.max(1, deadline - Date.now()));
      if (!mirror.ended && mirror.seen >= last) break;
      if (Date.now() >= deadline) throw new AppError("UNAVAILABLE", `store unavailable: ${collection} mirror did not catch up`, { collection });
      mirror = await this.#mirror(collection);
    }
    const out: Entry<T>[] = [];
    for (const [key, e] of mirror.entries) {
      if (key.startsWith(prefix)) out.push({ key, value: JSON.parse(new TextDecoder().decode(e.value)) as T, revision: e.revision });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  #wrote(collection: string, revision: number): void {
    this.#written.set(collection, Math.max(revision, this.#written.get(collection) ?? 0));
  }

  async #mirror(collection: string): Promise<KvMirror> {
    let m = this.#mirrors.get(collection);
    if (!m || m.ended) {
      m = KvMirror.start(await this.#bucket(collection));
      this.#mirrors.set(collection, m);
    }
    return m;
  }

  async close(): Promise<void> {
    for (const m of this.#mirrors.values()) m.stop();
    this.#mirrors.clear();
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
