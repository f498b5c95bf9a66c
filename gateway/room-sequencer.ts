/**
 * Keeps each room's sequenced events gap-free on this gateway. The owner's broadcasts travel
 * over core NATS, which may drop messages when a NATS server dies; the events themselves are
 * safe in the owner's history (and durable log). So per room this node remembers the last seq
 * it forwarded and:
 *   - an item with seq > last + 1 (a gap) holds the room's stream, fetches the missing events
 *     from the owner (`rooms.events`), and forwards them, in order, before what it held;
 *   - the owner's seq in every presence answer (each room, every 2 s) reveals a lost *last*
 *     event, which no later item would show;
 *   - items with seq <= last (a repaired event arriving late) are dropped.
 * Items without seq (reactions, presence, tallies) pass through in order.
 */
import type { RoomEvent, RoomItem } from "../protocol/rooms.js";

export interface SequencerDeps {
  fetchSince(room: string, since: number): Promise<RoomEvent[]>;
  emit(room: string, items: RoomItem[]): void;
  onRepaired(room: string, events: number): void;
  onError(room: string, err: unknown): void;
}

const seqOf = (i: RoomItem): number | undefined => ("seq" in i && typeof i.seq === "number" ? i.seq : undefined);
const RETRY_MS = 300;
const GIVE_UP_AFTER = 40; // ~12 s: then the held items go out and the gap stays (logged)

export class RoomSequencer {
  readonly #deps: SequencerDeps;
  readonly #last = new Map<string, number>();
  readonly #held = new Map<string, RoomItem[]>();

  constructor(deps: SequencerDeps) {
    this.#deps = deps;
  }

  /** A member's join answer: the room's seq when this node starts forwarding to it. */
  joined(room: string, seq: number): void {
    if (!this.#last.has(room)) this.#last.set(room, seq);
  }

  forget(room: string): void {
    this.#last.delete(room);
    this.#held.delete(room);
  }

  items(room: string, items: RoomItem[]): void {
    const held = this.#held.get(room);
    if (held) {
      held.push(...items);
      return;
    }
    const last = this.#last.get(room);
    const first = items.map(seqOf).find((s) => s !== undefined);
    if (last !== undefined && first !== undefined && first > last + 1) return this.#repair(room, last, [...items]);
    this.#forward(room, items);
  }

  /** The owner's current seq (presence answers): a trailing gap shows here. */
  ownerSeq(room: string, seq: number): void {
    const last = this.#last.get(room);
    if (last === undefined || this.#held.has(room) || seq <= last) return;
    this.#repair(room, last, []);
  }

  #forward(room: string, items: RoomItem[]): void {
    let last = this.#last.get(room) ?? -1;
    const out: RoomItem[] = [];
    for (const i of items) {
      const s = seqOf(i);
      if (s !== undefined) {
        if (s <= last) continue;
        last = s;
      }
      out.push(i);
    }
    if (last >= 0) this.#last.set(room, last);
    if (out.length > 0) this.#deps.emit(room, out);
  }

  #repair(room: string, since: number, held: RoomItem[], attempt = 0): void {
    this.#held.set(room, held);
    this.#deps.fetchSince(room, since).then(
      (events) => {
        const buffered = this.#held.get(room) ?? [];
        this.#held.delete(room);
        this.#forward(room, [...events, ...buffered]);
        this.#deps.onRepaired(room, events.length);
      },
      (err: unknown) => {
        if (!this.#held.has(room)) return; // forgotten meanwhile
        if (attempt >= GIVE_UP_AFTER) {
          const buffered = this.#held.get(room) ?? [];
          this.#held.delete(room);
          this.#deps.onError(room, err);
          this.#forward(room, buffered);
          return;
        }
        setTimeout(() => this.#repair(room, since, this.#held.get(room) ?? [], attempt + 1), RETRY_MS).unref();
      },
    );
  }
}
