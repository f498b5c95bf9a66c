/**
 * An in-memory mirror of one JetStream KV bucket, fed by a KV watch, so `list` costs one round
 * trip (the bucket's last sequence) instead of a `keys()` + `get()` per entry. `list` waits
 * until the mirror has applied that sequence, so it sees every write made before it began, by
 * any node (store-jetstream.ts).
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

  /** The highest revision applied so far. */
  get seen(): number {
    return this.#seen;
  }

  /** Resolves once the initial state is loaded and every revision up to `revision` is applied,
   *  or the watch ended, or `timeoutMs` passed (callers check `seen` and `ended`). */
  async caughtUp(revision: number, timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    try {
      await Promise.race([this.#ready, timeout]);
      if (this.#seen >= revision || this.#ended) return;
      await Promise.race([new Promise<void>((resolve) => this.#waiters.push({ revision, resolve })), timeout]);
    } finally {
      clearTimeout(timer);
    }
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
