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
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        // "No responders": nobody took the request (a stream's interest still spreading across
        // the cluster, a leader being elected), so it certainly did not run: asked again shortly.
        if (isNoResponders(err) && attempt < NO_RESPONDERS_RETRIES) {
          await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
          continue;
        }
        throw err instanceof AppError ? err : mapError(err, collection, key);
      }
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

  async #led(name: string, kv: KV): Promise<KV> {
    if (this.#opts.replicas <= 1) return kv;
    const probe = this.#nc.jetstream({ timeout: PROBE_TIMEOUT_MS });
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      const cluster = await kv.status().then((s) => s.streamInfo.cluster, () => undefined);
      // A leader with a quorum of current followers (a write is stored once a quorum has it;
      // one server down still leaves one), and this connection's server already routes the
      // bucket's requests.
      const current = (cluster?.replicas ?? []).filter((p) => p.current && !p.offline).length;
      const settled = Boolean(cluster?.leader) && current >= Math.floor(this.#opts.replicas / 2);
      const ready = settled && (await probe.views.kv(name, { bindOnly: true }).then((b) => b.get("-probe")).then(() => true, () => false));
      if (ready || Date.now() >= deadline) return kv;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Opens (creating if need be) a bucket. Two nodes creating one replicated bucket at once:
   *  the cluster's meta leader may leave one request unanswered (a TIMEOUT) while it creates
   *  the stream for the other. Creating an existing bucket with the same settings is a no-op, so
   *  a timed-out or unanswered open is asked again (OPEN_TRIES in all). */
  async #open(name: string): Promise<KV> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#nc.jetstream().views.kv(name, { history: 1, replicas: this.#opts.replicas });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (attempt >= OPEN_TRIES || !(code === "TIMEOUT" || isNoResponders(err))) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  #bucket(collection: string): Promise<KV> {
    let kv = this.#buckets.get(collection);
    if (!kv) {
      const name = `${this.#opts.namespace}_${collection}`;
      kv = this.#open(name).then((b) => this.#led(name, b));
      // A failed open (NATS down at that moment) must not be cached for ever.
      kv.catch(() => this.#buckets.delete(collection));
      this.#buckets.set(collection, kv);
    }
    return kv;
  }
}

/** A replicated bucket just created has no stream leader for a moment, and its followers join
 *  after: its first reads and writes would get 503 or wait out the 5 s request timeout (a cold
 *  room's first joins did). Opening it waits until the stream has a leader, a quorum of current
 *  followers, and answers a read through this connection (at most LEADER_WAIT_MS). */
const LEADER_WAIT_MS = 5000;
const OPEN_TRIES = 3;
const PROBE_TIMEOUT_MS = 300;

function toEntry<T>(e: KvEntry | null): Entry<T> | undefined {
  if (!e || e.operation !== "PUT") return undefined;
  return { key: e.key, value: JSON.parse(new TextDecoder().decode(e.value)) as T, revision: e.revision };
}

/** About 0.8 s of asking again in all (25 ms doubling). */
const NO_RESPONDERS_RETRIES = 5;
/** nats.js's "no responders" (code 503 and no JetStream api_error: a 503 that carries one was
 *  answered by JetStream, e.g. "JetStream not enabled", and is not asked again). */
const isNoResponders = (err: unknown): boolean => (err as { code?: unknown }).code === "503" && (err as { api_error?: unknown }).api_error === undefined;

function mapError(err: unknown, collection: string, key: string): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (/wrong last sequence|key exists/i.test(msg)) return conflict(collection, key);
  return new AppError("UNAVAILABLE", `store unavailable: ${msg}`, { collection });
}
