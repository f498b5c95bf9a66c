/**
 * Which rooms nodes are alive, from the store, in about a second: every rooms node rewrites its
 * beat key (`room_nodes/<nodeId>`) every BEAT_MS, and reads everyone's. A node whose key has not
 * changed for DEAD_AFTER_MS, as this node's own monotonic clock measures it (no clock is compared
 * across machines), or whose key is gone (it stopped), is dead: its rooms may be taken without
 * waiting for their leases to expire. One write and one list per node per beat, whatever the
 * number of rooms; a room's lease (leases.ts) stays the backstop when the store cannot be read.
 *
 * Why not Moleculer's heartbeats or NATS connection advisories: a node whose process is stopped
 * (SIGSTOP, a GC or swap storm) keeps its NATS connection, and advisories need NATS's system
 * account. What matters for a room is whether its owner still writes; the beat is that write,
 * through the same store the room log is fenced in. A node declared dead that comes back finds its
 * leases taken (renewal: CONFLICT) and its next room-log write refused (create-only seq keys): it
 * drops the room, so two owners never number the same room.
 *
 * A node found dead is also reported (`onDead`): the rooms actor tells every node
 * (`rooms.nodeDead`), and each takes it out of its Moleculer registry at once (node-reaper.ts), so
 * calls stop going to it and calls waiting on it fail now instead of at their timeout. A node
 * wrongly found dead is back on its next Moleculer heartbeat.
 */
import type { Store } from "../../store/index.js";

const C = "room_nodes";
export const BEAT_MS = 150;
export const DEAD_AFTER_MS = 700;

interface Seen {
  revision: number;
  /** performance.now() when this revision was first seen. */
  changedAt: number;
}

export class Liveness {
  readonly #store: Store;
  readonly #me: string;
  readonly #seen = new Map<string, Seen>();
  /** When this node first read the beats (a node seen only since then gets the benefit of the doubt). */
  #watchingSince = 0;
  #timer: NodeJS.Timeout | undefined;
  #beat = 0;
  /** performance.now() of the last beat that read the store: older than a few beats, nobody is judged. */
  #lastRead = 0;
  #running = false;

  /** Nodes already reported dead (reported once; forgotten when they beat again). */
  readonly #reported = new Set<string>();
  readonly #onDead: (nodeId: string) => void;

  /** `onDead`: told once when a node that was beating is found dead. */
  constructor(store: Store, nodeId: string, onDead: (nodeId: string) => void = () => undefined) {
    this.#store = store;
    this.#me = nodeId;
    this.#onDead = onDead;
  }

  async start(): Promise<void> {
    await this.#tick();
    this.#timer = setInterval(() => void this.#tick(), BEAT_MS);
    this.#timer.unref();
  }

  /** Stops beating and removes this node's key: its rooms may be taken at once. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#store.delete(C, this.#me).catch(() => undefined);
  }

  /** Dead: its key unchanged for DEAD_AFTER_MS (watched that long), or gone. */
  dead(nodeId: string): boolean {
    const now = performance.now();
    if (nodeId === this.#me || this.#watchingSince === 0 || now - this.#lastRead > 3 * BEAT_MS) return false;
    const s = this.#seen.get(nodeId);
    if (!s) return now - this.#watchingSince >= DEAD_AFTER_MS; // no key (stopped, or never a rooms node)
    return now - s.changedAt >= DEAD_AFTER_MS;
  }

  /** performance.now() at which `nodeId` is judged dead if no new beat of it is read before
   *  then (Infinity: not judged, as for dead()). A caller waiting for a silent owner wakes then
   *  instead of polling past the moment. */
  deadAt(nodeId: string): number {
    if (nodeId === this.#me || this.#watchingSince === 0) return Number.POSITIVE_INFINITY;
    const s = this.#seen.get(nodeId);
    return (s ? s.changedAt : this.#watchingSince) + DEAD_AFTER_MS;
  }

  async #tick(): Promise<void> {
    if (this.#running) return; // a slow store: one beat at a time
    this.#running = true;
    try {
      await this.#store.put(C, this.#me, { beat: ++this.#beat });
      const now = performance.now();
      const present = new Set<string>();
      for (const e of await this.#store.list<{ beat: number }>(C)) {
        present.add(e.key);
        const s = this.#seen.get(e.key);
        if (!s || s.revision !== e.revision) this.#seen.set(e.key, { revision: e.revision, changedAt: now });
      }
      const gone = [...this.#seen.keys()].filter((id) => !present.has(id));
      for (const id of gone) this.#seen.delete(id);
      if (this.#watchingSince === 0) this.#watchingSince = now;
      this.#lastRead = now;
      for (const [id, s] of this.#seen) {
        if (now - s.changedAt < DEAD_AFTER_MS) this.#reported.delete(id);
        else if (id !== this.#me && !this.#reported.has(id)) {
          this.#reported.add(id);
          this.#onDead(id);
        }
      }
    } catch {
      // The store is away: nobody is judged on stale knowledge (dead() answers false until a read
      // succeeds again; then a node that beat meanwhile shows a new revision).
    } finally {
      this.#running = false;
    }
  }
}
