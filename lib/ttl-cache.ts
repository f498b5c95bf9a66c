/**
 * A short-lived cache for lookups many callers make at once (a reconnect storm's joins of one
 * room, a segment's viewers): a value is kept `ttlMs`; one load per key at a time, shared by
 * everyone asking meanwhile; `forget(key)` after the source changed, and a load begun before
 * that is neither shared nor kept (a stream made private is never answered from the lookup that
 * started while it was public). Bounded: past `maxEntries` it starts over.
 */
export class TtlCache<V> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, { v: V; at: number }>();
  readonly #loading = new Map<string, Promise<V>>();
  /** A clock ticked by every forget(): when each key last changed, and when that record was
   *  last wiped (bounded too). A load begun before either is not kept. */
  #clock = 0;
  readonly #changedAt = new Map<string, number>();
  #wipedAt = 0;

  constructor(ttlMs: number, maxEntries: number) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  /** The kept value, fresh or expired (a fallback while the source is unreachable). */
  stale(key: string): V | undefined {
    return this.#entries.get(key)?.v;
  }

  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit && Date.now() - hit.at < this.#ttlMs) return Promise.resolve(hit.v);
    const loading = this.#loading.get(key);
    if (loading) return loading;
    const began = this.#clock;
    const mine: Promise<V> = load().then((v) => {
      if (Math.max(this.#changedAt.get(key) ?? 0, this.#wipedAt) <= began) {
        if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
        this.#entries.set(key, { v, at: Date.now() });
      }
      return v;
    }).finally(() => {
      if (this.#loading.get(key) === mine) this.#loading.delete(key);
    });
    this.#loading.set(key, mine);
    return mine;
  }

  /** The source of `key` changed: the next get() loads again. */
  forget(key: string): void {
    this.#entries.delete(key);
    this.#loading.delete(key);
    this.#clock++;
    if (this.#changedAt.size >= this.#maxEntries) {
      this.#changedAt.clear();
      this.#wipedAt = this.#clock;
    }
    this.#changedAt.set(key, this.#clock);
  }
}
