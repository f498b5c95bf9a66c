/**
 * Token buckets keyed by client IP or user id. `take` answers 0 when allowed, otherwise the
 * seconds to wait (for Retry-After). Idle buckets are swept so the map stays bounded by the
 * number of clients active in the last minute; `maxKeys` bounds it against address floods.
 */
interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucket {
  tokens: number;
  #at: number;
  readonly #rate: number;
  readonly #burst: number;

  constructor(ratePerSec: number, burst: number) {
    this.#rate = ratePerSec;
    this.#burst = burst;
    this.tokens = burst;
    this.#at = Date.now();
  }

  /** 0 if a token was taken, else seconds until one is available. */
  take(now = Date.now()): number {
    this.tokens = Math.min(this.#burst, this.tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.#rate;
  }
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;

  constructor(ratePerSec: number, burst: number, maxKeys = 100_000) {
    this.#rate = ratePerSec;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  take(key: string, now = Date.now()): number {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.#maxKeys) this.sweep(now);
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.#rate;
  }

  /** Forgets buckets that have refilled completely (they behave as new ones). */
  sweep(now = Date.now()): void {
    const full = (this.#burst / this.#rate) * 1000;
    for (const [k, b] of this.#buckets) if (now - b.at >= full) this.#buckets.delete(k);
  }

  get size(): number {
    return this.#buckets.size;
  }
}
