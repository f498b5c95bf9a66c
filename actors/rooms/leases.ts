/**
 * Room ownership: exactly one rooms node owns a room at a time, by a lease in the store
 * (JetStream KV when distributed: CAS on the lease's revision). The owner renews its leases;
 * when it dies (its beats stop: liveness.ts, about a second) or its leases expire, whichever is
 * first, the next node asked for the room takes it over.
 * Writes to the room log are fenced independently (create-only keys per seq, room-log.ts), so
 * even a stale owner that has not noticed its loss cannot fork a room's sequence.
 */
import { hasCode } from "../../lib/errors.js";
import type { Store } from "../../store/index.js";

const C = "room_leases";

interface Lease {
  owner: string;
  until: number;
}

export type Ownership = { mine: true } | { mine: false; owner: string };

export class Leases {
  readonly #store: Store;
  readonly #me: string;
  readonly #ttlMs: number;
  /** Rooms this node owns, with the lease revision it holds. */
  readonly #held = new Map<string, number>();

  readonly #isDead: (nodeId: string) => boolean;

  /** `isDead`: node liveness (liveness.ts): a dead owner's lease may be taken before it expires. */
  constructor(store: Store, nodeId: string, ttlMs: number, isDead: (nodeId: string) => boolean = () => false) {
    this.#store = store;
    this.#me = nodeId;
    this.#ttlMs = ttlMs;
    this.#isDead = isDead;
  }

  holds(room: string): boolean {
    return this.#held.has(room);
  }

  /** Who owns the room, taking it when it is free or its lease expired. */
  async acquire(room: string): Promise<Ownership> {
    if (this.#held.has(room)) return { mine: true };
    for (let attempt = 0; attempt < 3; attempt++) {
      const e = await this.#store.get<Lease>(C, room);
      if (e && e.value.owner !== this.#me && e.value.until > Date.now() && !this.#isDead(e.value.owner)) return { mine: false, owner: e.value.owner };
      const lease: Lease = { owner: this.#me, until: Date.now() + this.#ttlMs };
      try {
        const rev = await this.#store.put(C, room, lease, { expect: e?.revision ?? 0 });
        this.#held.set(room, rev);
        return { mine: true };
      } catch (err) {
        if (!hasCode(err, "CONFLICT")) throw err;
      }
    }
    // Lost three races in a row: report the current holder, or nobody (the caller answers
    // UNAVAILABLE and the client retries) — never "mine" without holding the lease.
    const e = await this.#store.get<Lease>(C, room);
    return { mine: false, owner: e && e.value.owner !== this.#me ? e.value.owner : "" };
  }

  /** Renews every held lease; returns the rooms whose lease was lost (taken by another node). */
  async renew(): Promise<string[]> {
    const lost: string[] = [];
    for (const [room, rev] of this.#held) {
      try {
        const next = await this.#store.put(C, room, { owner: this.#me, until: Date.now() + this.#ttlMs }, { expect: rev });
        this.#held.set(room, next);
      } catch (err) {
        if (!hasCode(err, "CONFLICT")) continue; // store unreachable: try again next time
        this.#held.delete(room);
        lost.push(room);
      }
    }
    return lost;
  }

  /** Gives a room up (it emptied, or the node stops) so another node can take it at once. */
  async release(room: string): Promise<void> {
    const rev = this.#held.get(room);
    this.#held.delete(room);
    if (rev !== undefined) await this.#store.delete(C, room, { expect: rev }).catch(() => undefined);
  }

  rooms(): string[] {
    return [...this.#held.keys()];
  }
}
