/**
 * The durable log of a room's sequenced events, in the store: one create-only key per
 * sequence number (`<room>.<seq, 12 digits>`). Create-only is the fence: two owners can never
 * both write seq N, so a room's sequence cannot fork even during an ownership change. An event
 * is acknowledged to its sender only after its key was written (embedded: sqlite WAL;
 * distributed: JetStream, acknowledged by its replicas). The log keeps `keep` events per room.
 */
import type { Store } from "../../store/index.js";
import type { RoomEvent } from "../../protocol/rooms.js";

const C = "room_log";
const key = (room: string, seq: number): string => `${room}.${String(seq).padStart(12, "0")}`;

export class RoomLog {
  readonly #store: Store;
  readonly #keep: number;

  constructor(store: Store, keep: number) {
    this.#store = store;
    this.#keep = keep;
  }

  /** Writes the event at its seq; CONFLICT if that seq exists (another owner wrote it). */
  async append(room: string, event: RoomEvent): Promise<void> {
    await this.#store.put(C, key(room, event.seq), event, { expect: 0 });
    if (event.seq % 64 === 0) void this.#trim(room, event.seq).catch(() => undefined);
  }

  /** The last `n` events of a room, oldest first. */
  async tail(room: string, n: number): Promise<RoomEvent[]> {
    const all = await this.#store.list<RoomEvent>(C, `${room}.`);
    return all.slice(-n).map((e) => e.value);
  }

  async #trim(room: string, seq: number): Promise<void> {
    const cutoff = seq - this.#keep;
    if (cutoff <= 0) return;
    for (const e of await this.#store.list<RoomEvent>(C, `${room}.`)) {
      if (e.value.seq > cutoff) break;
      await this.#store.delete(C, e.key);
    }
  }
}
