/**
 * An in-memory mirror of one JetStream KV bucket, fed by a KV watch, so `list` costs no round
 * trips (a `keys()` + `get()` per entry costs one consumer and N requests). Reads through the
 * mirror see everything this process wrote before them (read-your-writes: `list` waits until
 * the mirror has caught up with the last revision this process wrote) and other nodes' writes
 * after the watch delivers them (milliseconds).
 *
 * The mirror ends when its watch ends (connection lost and the consumer gone); the store then
 * builds a new one on the next list.
 */
import type { KV, KvEntry } from "nats";

export interface MirrorEntry {
  value: Uint8Array;
  revision: number;
}

export class KvMirror {
  readonly entries = new Map<string, MirrorEntry>();
  #seen = 0;
  #ready: Promise<void>;
  #ended = false;
  #waiters: { revision: number; resolve: () => void }[] = [];
  #stop: (() => void) | undefined;

  private constructor(ready: Promise<void>) {
    this.#ready = ready;
  }

  static start(kv: KV): KvMirror {
    let initialized: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (initialized = resolve));
    const mirror = new KvMirror(ready);
    void kv
      .watch({ key: ">", initializedFn: () => initialized() })
      .then(async (iter) => {
        mirror.#stop = () => iter.stop();
        for await (const e of iter) mirror.#apply(e);
      })
      .catch(() => undefined)
      .finally(() => {
        mirror.#ended = true;
        initialized();
        for (const w of mirror.#waiters) w.resolve();
        mirror.#waiters = [];
      });
    return mirror;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Resolves once the initial state is loaded and every revision up to `revision` is applied. */
  async caughtUp(revision: number): Promise<void> {
    await this.#ready;
    if (this.#seen >= revision || this.#ended) return;
    await new Promise<void>((resolve) => this.#waiters.push({ revision, resolve }));
  }

  stop(): void {
    this.#stop?.();
  }

  #apply(e: KvEntry): void {
    if (e.operation === "PUT") this.entries.set(e.key, { value: e.value, revision: e.revision });
    else this.entries.delete(e.key);
    this.#seen = Math.max(this.#seen, e.revision);
    if (this.#waiters.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => (w.revision <= this.#seen ? (w.resolve(), false) : true));
  }
}
