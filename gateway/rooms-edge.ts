/**
 * The gateway's side of rooms. Local fan-out: each room is a uWS topic per wire format
 * (`room/<id>/m` msgpack, `room/<id>/j` JSON); the owner's `rooms.out` reaches this node once
 * per room; items arriving within `fanoutBatchMs` of the previous frame are gathered into one
 * frame (leading edge: a quiet room's next item is not delayed; 0: each broadcast is its own
 * frame), encoded once per format and
 * published to the topic. Upstream, this node sums its viewers' reactions per window and
 * reports its audience per room (presence), so the owner's work does not grow with either.
 */
import type { TemplatedApp, WebSocket } from "@trufflesuite/uws-js-unofficial";
import { AppError } from "../lib/errors.js";
import type { Principal } from "../lib/identity.js";
import type { JoinAnswer, RoomEvent, RoomItem, RoomOut, UserRef } from "../protocol/rooms.js";
import type { JoinBatcher } from "./join-batcher.js";
import { RoomSequencer } from "./room-sequencer.js";
import { encodeFrame, type WireFormat } from "./ws/codec.js";
import type { Connection } from "./ws/connection.js";

type Ws = WebSocket<Connection>;

export interface RoomsEdgeDeps {
  nodeId: string;
  batchMs: number;
  reactionFlushMs: number;
  /** This node's joins, batched per room (join-batcher.ts). */
  joins: JoinBatcher;
  /** Calls the rooms actor (internal calls: this node speaks for its viewers). */
  callInternal(action: string, params: Record<string, unknown>): Promise<unknown>;
  onError(what: string, err: unknown): void;
  /** A gap in a room's sequence (a lost broadcast) was filled from the owner's history. */
  onRepaired?(room: string, events: number): void;
}

const topic = (room: string, format: WireFormat): string => `room/${room}/${format === "json" ? "j" : "m"}`;
const PRESENCE_EVERY_MS = 2000;

export class RoomsEdge {
  readonly #deps: RoomsEdgeDeps;
  #app: TemplatedApp | undefined;
  readonly #members = new Map<string, Set<Ws>>();
  /** Rooms each connection (by id) is joining right now. */
  readonly #joining = new Map<number, Set<string>>();
  readonly #pending = new Map<string, RoomItem[]>();
  readonly #reactions = new Map<string, Map<string, number>>();
  readonly #presenceDirty = new Set<string>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #sequencer: RoomSequencer;
  #flushScheduled = false;
  #lastFlush = -Infinity;
  /** Frames published and items carried, for metrics and the bench. */
  framesOut = 0;
  itemsOut = 0;

  constructor(deps: RoomsEdgeDeps) {
    this.#deps = deps;
    this.#sequencer = new RoomSequencer({
      fetchSince: async (room, since) => ((await deps.callInternal("rooms.events", { id: room, since })) as { events: RoomEvent[] }).events,
      emit: (room, items) => this.#enqueue(room, items),
      onRepaired: (room, n) => deps.onRepaired?.(room, n),
      onError: (room, err) => deps.onError(`sequence repair of ${room}`, err),
    });
    this.#timers.push(
      setInterval(() => this.#flushReactions(), deps.reactionFlushMs),
      setInterval(() => this.#reportPresence(false), 250),
      setInterval(() => this.#reportPresence(true), PRESENCE_EVERY_MS),
    );
    for (const t of this.#timers) t.unref();
  }

  attach(app: TemplatedApp): void {
    this.#app = app;
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
  }

  /** Subscribes before the join call, so nothing published meanwhile is missed (the client
   *  drops live events with seq <= what the join answer gave it). */
  subscribe(ws: Ws, room: string): void {
    const m = ws.getUserData();
    ws.subscribe(topic(room, m.format));
    m.rooms.add(room);
    let set = this.#members.get(room);
    if (!set) this.#members.set(room, (set = new Set()));
    set.add(ws);
    this.#presenceDirty.add(room);
  }

  unsubscribe(ws: Ws, room: string, socketOpen = true): void {
    const m = ws.getUserData();
    if (socketOpen) ws.unsubscribe(topic(room, m.format));
    m.rooms.delete(room);
    const set = this.#members.get(room);
    set?.delete(ws);
    if (set?.size === 0) {
      this.#members.delete(room);
      this.#sequencer.forget(room);
    }
    this.#presenceDirty.add(room);
  }

  /** A socket closed: it left every room (uWS already dropped its subscriptions). */
  closed(ws: Ws): void {
    for (const room of [...ws.getUserData().rooms]) this.unsubscribe(ws, room, false);
  }

  addReaction(room: string, emoji: string): void {
    let counts = this.#reactions.get(room);
    if (!counts) this.#reactions.set(room, (counts = new Map<string, number>()));
    counts.set(emoji, (counts.get(emoji) ?? 0) + 1);
  }

  /** Joins `ws` to the room: subscribed first (nothing published meanwhile is missed), then the
   *  owner's answer (batched with this node's other joins of the room), which also says where
   *  this node's forwarding of the room starts (gap checks). */
  async join(ws: Ws, room: string, principal: Principal, since: number | undefined): Promise<JoinAnswer> {
    this.subscribe(ws, room);
    try {
      const ans = await this.#deps.joins.join(room, { principal, since, gone: () => ws.getUserData().closed });
      this.joined(room, ans.seq);
      return ans;
    } catch (err) {
      if (!ws.getUserData().closed) this.unsubscribe(ws, room);
      throw err;
    }
  }

  /** Called first thing by room.join, synchronously: one join of a room per connection at a
   *  time (a client repeating room.join cannot stack the join queue admission sheds everyone
   *  on), and joins on their way count against the connection's room cap (pipelined joins of
   *  many rooms cannot pass it before any has subscribed). Call the answer when done. */
  beginJoin(conn: Connection, room: string, maxRooms: number): () => void {
    let mine = this.#joining.get(conn.id);
    if (mine?.has(room)) throw new AppError("CONFLICT", "A join of this room is already on its way");
    if (!conn.rooms.has(room) && conn.rooms.size + (mine?.size ?? 0) >= maxRooms) throw new AppError("BAD_REQUEST", `At most ${String(maxRooms)} rooms per connection`);
    if (!mine) this.#joining.set(conn.id, (mine = new Set()));
    mine.add(room);
    const set = mine;
    return () => {
      set.delete(room);
      if (set.size === 0 && this.#joining.get(conn.id) === set) this.#joining.delete(conn.id);
    };
  }

  /** The owner's broadcast for one room: checked for gaps, then queued for the next frame. */
  onRoomOut(out: RoomOut): void {
    if (!this.#members.has(out.room)) return;
    this.#sequencer.items(out.room, out.items);
  }

  /** One frame per room per batch window. */
  #enqueue(room: string, items: RoomItem[]): void {
    if (!this.#members.has(room)) return;
    const q = this.#pending.get(room);
    if (q) q.push(...items);
    else this.#pending.set(room, [...items]);
    for (const item of items) if (item.kind === "banned") this.#kick(room, item.userId);
    if (this.#deps.batchMs <= 0) return this.#flush(); // no batching: each broadcast as it arrives
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Leading edge: after a quiet window the first items go out on the next turn (no added
    // latency when traffic is sparse); while frames keep coming, at most one per window, so
    // under load several items share a frame and the per-socket send cost is paid once.
    const wait = this.#lastFlush + this.#deps.batchMs - performance.now();
    if (wait <= 0) setImmediate(() => this.#flush());
    else setTimeout(() => this.#flush(), wait);
  }

  /** Where this node's forwarding of the room starts (a member's join answer's seq). */
  joined(room: string, seq: number): void {
    if (this.#members.has(room)) this.#sequencer.joined(room, seq);
  }

  memberCount(room: string): number {
    return this.#members.get(room)?.size ?? 0;
  }

  #flush(): void {
    this.#flushScheduled = false;
    this.#lastFlush = performance.now();
    const app = this.#app;
    if (!app) return;
    for (const [room, items] of this.#pending) {
      const frame = { t: "room", d: { room, items } };
      for (const format of ["msgpack", "json"] as const) {
        const t = topic(room, format);
        if (app.numSubscribers(t) === 0) continue;
        app.publish(t, encodeFrame(frame, format), format === "msgpack");
        this.framesOut++;
      }
      this.itemsOut += items.length;
    }
    this.#pending.clear();
  }

  #kick(room: string, userId: string): void {
    for (const ws of [...(this.#members.get(room) ?? [])]) {
      const m = ws.getUserData();
      if (m.principal.userId !== userId) continue;
      this.unsubscribe(ws, room);
      ws.send(encodeFrame({ t: "room.kicked", d: { room, reason: "banned" } }, m.format), m.format === "msgpack");
    }
  }

  #flushReactions(): void {
    for (const [room, counts] of this.#reactions) {
      this.#deps.callInternal("rooms.react", { id: room, counts: Object.fromEntries(counts) }).catch((err: unknown) => this.#deps.onError("reactions", err));
    }
    this.#reactions.clear();
  }

  /** Reports this node's audience per room: changed rooms every 250 ms, all every 2 s. */
  #reportPresence(all: boolean): void {
    const rooms = all ? new Set([...this.#members.keys(), ...this.#presenceDirty]) : this.#presenceDirty;
    for (const room of rooms) {
      const set = this.#members.get(room);
      const sample: UserRef[] = [];
      for (const ws of set ?? []) {
        const p = ws.getUserData().principal;
        if (!sample.some((u) => u.id === p.userId)) sample.push({ id: p.userId, name: p.name });
        if (sample.length >= 20) break;
      }
      const count = new Set([...(set ?? [])].map((ws) => ws.getUserData().principal.userId)).size;
      this.#deps.callInternal("rooms.presence", { id: room, nodeId: this.#deps.nodeId, count, sample }).then(
        (ans) => {
          const seq = (ans as { seq?: unknown } | undefined)?.seq;
          if (typeof seq === "number" && this.#members.has(room)) this.#sequencer.ownerSeq(room, seq);
        },
        (err: unknown) => this.#deps.onError("presence", err),
      );
    }
    this.#presenceDirty.clear();
  }
}
