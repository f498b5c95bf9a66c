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
  /** True once the joiner's socket closed: it is dropped instead of sent. */
  gone?: () => boolean;
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

/** `rate` counts the joins answered over this last window. */
const RATE_WINDOW_MS = 1000;

export class JoinBatcher {
  readonly #deps: JoinBatcherDeps;
  readonly #inFlight: number;
  readonly #rooms = new Map<string, RoomQueue>();
  #pending = 0;
  /** Batches answered in the last RATE_WINDOW_MS: when, and how many joins. */
  readonly #done: [number, number][] = [];
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

  /** Joins answered per second, over the last second (failed batches are not counted). */
  get rate(): number {
    this.#prune();
    let n = 0;
    for (const [, k] of this.#done) n += k;
    return (n * 1000) / RATE_WINDOW_MS;
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
      const taken = q.waiting.splice(0, Math.max(1, this.#deps.maxBatch));
      // Joiners whose socket closed while they waited are not sent (a storm's impatient clients).
      const batch = taken.filter((w) => !w.gone?.());
      for (const w of taken) if (w.gone?.()) w.reject(new AppError("CONFLICT", "The connection closed before its join was sent"));
      this.#pending -= taken.length - batch.length;
      if (batch.length === 0) continue;
      q.flying++;
      this.calls++;
      this.joins += batch.length;
      void this.#send(room, batch).finally(() => {
        q.flying--;
        this.#pending -= batch.length;
        if (q.waiting.length > 0) this.#pump(room, q);
        else if (q.flying === 0 && !q.scheduled) this.#rooms.delete(room);
      });
    }
    if (q.flying === 0 && q.waiting.length === 0 && !q.scheduled) this.#rooms.delete(room);
  }

  /** One call; every joiner of the batch is settled whatever comes back (never throws). */
  async #send(room: string, batch: Waiting[]): Promise<void> {
    try {
      const b = await this.#deps.call(room, batch.map(({ principal, since }) => ({ principal, since })));
      if (!Array.isArray(b.members) || b.members.length !== batch.length || !Array.isArray(b.history)) throw new AppError("INTERNAL", "The room's owner answered a join batch of another shape");
      batch.forEach((w, i) => {
        const slot = b.members[i];
        if (!slot || "error" in slot) return w.reject(slot && isErrorCode(slot.error.code) ? new AppError(slot.error.code, slot.error.message) : new AppError("INTERNAL", "A join slot without an answer"));
        w.resolve(joinAnswerOf(b, slot));
      });
      this.#answered(batch.length);
    } catch (err) {
      for (const w of batch) w.reject(err); // (a joiner already resolved above keeps its answer)
    }
  }

  /** Joins answered per second over the last RATE_WINDOW_MS. */
  #answered(n: number): void {
    this.#done.push([performance.now(), n]);
    this.#prune();
  }

  #prune(): void {
    const from = performance.now() - RATE_WINDOW_MS;
    let drop = 0;
    while (drop < this.#done.length && (this.#done[drop]?.[0] ?? 0) < from) drop++;
    if (drop > 0) this.#done.splice(0, drop);
  }
}
