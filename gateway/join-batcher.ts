/**
 * A gateway's joins, batched per room. The joins of a room that arrive in one turn of the event
 * loop, or while the room's previous batches are on their way to its owner, go as one
 * `rooms.join` call (at most `maxBatch` members; `inFlight` calls of a room at once), and each
 * joiner gets its own answer out of the batch's (protocol/rooms.ts joinAnswerOf). A reconnect
 * storm of 5,000 clients into one room costs its owner a few dozen calls, not 5,000.
 *
 * `pending` (joins waiting or on their way) and `rate` (joins answered per second, smoothed)
 * are what the gateway's admission (gateway/admission.ts) sheds load on.
 */
import { AppError } from "../lib/errors.js";
import type { Principal } from "../lib/identity.js";
import { isErrorCode } from "../protocol/errors.js";
import { joinAnswerOf, type JoinAnswer, type JoinBatchAnswer } from "../protocol/rooms.js";

export interface Joiner {
  principal: Principal;
  since?: number | undefined;
}

export interface JoinBatcherDeps {
  /** rooms.join for these members of the room. */
  call(room: string, members: Joiner[]): Promise<JoinBatchAnswer>;
  /** Members per call; 1 sends each join as its own call, as many at once as there are. */
  maxBatch: number;
  /** Calls of one room on their way at once (when batching). */
  inFlight?: number;
}

interface Waiting extends Joiner {
  resolve(a: JoinAnswer): void;
  reject(err: unknown): void;
}

interface RoomQueue {
  waiting: Waiting[];
  flying: number;
  scheduled: boolean;
}

/** How fast `rate` follows a change (per answered batch, weighted by time). */
const RATE_HALF_LIFE_MS = 500;

export class JoinBatcher {
  readonly #deps: JoinBatcherDeps;
  readonly #inFlight: number;
  readonly #rooms = new Map<string, RoomQueue>();
  #pending = 0;
  #rate = 0;
  #rateAt = performance.now();
  /** Calls made and joins they carried (metrics, bench). */
  calls = 0;
  joins = 0;

  constructor(deps: JoinBatcherDeps) {
    this.#deps = deps;
    this.#inFlight = deps.maxBatch <= 1 ? Infinity : Math.max(1, deps.inFlight ?? 2);
  }

  /** Joins waiting for a batch or on their way to an owner. */
  get pending(): number {
    return this.#pending;
  }

  /** Joins answered per second, smoothed over about a second. */
  get rate(): number {
    this.#decay(0);
    return this.#rate;
  }

  join(room: string, joiner: Joiner): Promise<JoinAnswer> {
    let q = this.#rooms.get(room);
    if (!q) this.#rooms.set(room, (q = { waiting: [], flying: 0, scheduled: false }));
    this.#pending++;
    const p = new Promise<JoinAnswer>((resolve, reject) => q.waiting.push({ ...joiner, resolve, reject }));
    // The rest of this turn's joins (one read of the sockets) go in the same batch.
    if (!q.scheduled && q.flying < this.#inFlight) {
      q.scheduled = true;
      setImmediate(() => {
        q.scheduled = false;
        this.#pump(room, q);
      });
    }
    return p;
  }

  #pump(room: string, q: RoomQueue): void {
    while (q.flying < this.#inFlight && q.waiting.length > 0) {
      const batch = q.waiting.splice(0, Math.max(1, this.#deps.maxBatch));
      q.flying++;
      this.calls++;
      this.joins += batch.length;
      this.#deps.call(room, batch.map(({ principal, since }) => ({ principal, since }))).then(
        (b) => this.#answer(batch, b),
        (err: unknown) => {
          for (const w of batch) w.reject(err);
        },
      ).finally(() => {
        q.flying--;
        this.#pending -= batch.length;
        this.#decay(batch.length);
        if (q.waiting.length > 0) this.#pump(room, q);
        else if (q.flying === 0 && !q.scheduled) this.#rooms.delete(room);
      });
    }
  }

  #answer(batch: Waiting[], b: JoinBatchAnswer): void {
    batch.forEach((w, i) => {
      const slot = b.members[i];
      if (!slot) return w.reject(new AppError("INTERNAL", "The room's owner answered fewer joins than asked"));
      if ("error" in slot) return w.reject(isErrorCode(slot.error.code) ? new AppError(slot.error.code, slot.error.message) : new AppError("INTERNAL", slot.error.message));
      w.resolve(joinAnswerOf(b, slot));
    });
  }

  /** Smoothed joins/s: `n` joins answered now, the rate decaying with time since the last. */
  #decay(n: number): void {
    const now = performance.now();
    const dt = Math.max(1, now - this.#rateAt);
    const keep = 0.5 ** (dt / RATE_HALF_LIFE_MS);
    this.#rate = this.#rate * keep + (n * 1000 * (1 - keep)) / dt;
    this.#rateAt = now;
  }
}
