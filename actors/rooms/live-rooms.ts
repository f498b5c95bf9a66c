/**
 * The owner side of rooms on one node: which rooms this node owns (leases), their loaded
 * state, routing a call to the owner (here, or forwarded to the owning node), fan-out of what a
 * room publishes, lease renewal, and unloading rooms that went quiet.
 */
import type { Context, ServiceBroker } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError, hasCode } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import { mustGet, type Store } from "../../store/index.js";
import { Leases } from "./leases.js";
import { DEAD_AFTER_MS, Liveness } from "./liveness.js";
import { RoomLog } from "./room-log.js";
import type { RoomOut } from "../../protocol/rooms.js";
import { Room } from "./room.js";
import type { RoomMeta } from "./room-meta.js";

/** `forwarded` marks a call one rooms node passed to the owner, so it is never passed on again. */
export type RoomCallMeta = CallMeta & { forwarded?: boolean };
type Ctx<P> = Context<P, RoomCallMeta>;
const C = "rooms";

/** The owner-side registry of live rooms on this node. */
/** A call forwarded to a room's owner gives up after this long (the owner may have just died)
 *  and asks again who owns the room; a caller waits at most SWITCH_WAIT_MS for an owner. */
const FORWARD_TIMEOUT_MS = 2000;
const SWITCH_WAIT_MS = 8000;
/** Errors after which a forwarded call certainly did not run on the owner... */
const NOT_RUN = new Set(["ServiceNotAvailableError", "ServiceNotFoundError", "RequestSkippedError", "BrokerDisconnectedError"]);
/** ...and after which it may have (a slow owner): asked again only when asking twice is harmless. */
const MAYBE_RUN = new Set(["RequestTimeoutError", "RequestRejectedError"]);

export class LiveRooms {
  readonly leases: Leases;
  readonly liveness: Liveness;
  readonly #rooms = new Map<string, Promise<Room>>();
  readonly #store: Store;
  readonly #log: RoomLog;
  readonly #cfg: AppConfig["rooms"];
  readonly #broker: ServiceBroker;
  #timer: NodeJS.Timeout | undefined;

  constructor(cfg: AppConfig["rooms"], store: Store, broker: ServiceBroker) {
    this.#cfg = cfg;
    this.#store = store;
    this.#broker = broker;
    this.#log = new RoomLog(store, cfg.logKeep);
    this.liveness = new Liveness(store, broker.nodeID, (dead) => {
      broker.logger.warn(`rooms: node ${dead} stopped beating: its rooms may be taken`);
      broker.broadcast("rooms.nodeDead", { nodeID: dead }).catch(() => undefined);
    });
    this.leases = new Leases(store, broker.nodeID, cfg.leaseTtlMs, (n) => this.liveness.dead(n));
    this.#timer = setInterval(() => void this.#renew(), Math.max(250, cfg.leaseTtlMs / 3));
    this.#timer.unref();
  }

  /** Runs `fn` on the owner of the room: here, or forwarded to the node that owns it. While the
   *  room changes hands (its owner died: liveness.ts notices in about a second) the call waits
   *  for the new owner, up to SWITCH_WAIT_MS, instead of failing. A call the owner may have run
   *  before it went quiet is asked again only if `idempotent` (a chat with its cid, a vote, a
   *  join); otherwise the caller hears UNAVAILABLE and decides. */
  async onOwner<T>(ctx: Ctx<{ id: string }>, fn: (room: Room) => Promise<T> | T, opts: { idempotent?: boolean } = {}): Promise<T> {
    const roomId = ctx.params.id;
    // Unknown room ids get NOT_FOUND before any lease is written for them.
    if (!this.leases.holds(roomId)) await mustGet<RoomMeta>(this.#store, C, roomId, "room");
    const deadline = performance.now() + SWITCH_WAIT_MS;
    // Read once: Moleculer merges a called context's meta back into the caller's, so after a
    // forward this context's meta says `forwarded` too.
    const forwarded = ctx.meta.forwarded === true;
    for (let attempt = 0; ; attempt++) {
      const own = await this.leases.acquire(roomId);
      if (own.mine) return this.#run(roomId, fn);
      if (forwarded) throw new AppError("UNAVAILABLE", "The room is moving between nodes: retry");
      if (own.owner) {
        try {
          // (`forwarded` is false here: a forwarded call never forwards again.)
          return await ctx.call<T, unknown>(ctx.action?.name ?? "", ctx.params, { nodeID: own.owner, timeout: FORWARD_TIMEOUT_MS, retries: 0, meta: { forwarded: true } }).finally(() => {
            delete ctx.meta.forwarded; // not ours to pass back to our caller
          });
        } catch (err) {
          const name = (err as { name?: string }).name ?? "";
          const moving = hasCode(err, "UNAVAILABLE") && /moving|moved/.test((err as Error).message);
          const again = NOT_RUN.has(name) || moving || (MAYBE_RUN.has(name) && opts.idempotent !== false);
          if (!again) throw MAYBE_RUN.has(name) ? new AppError("UNAVAILABLE", "The room's owner did not answer: retry") : err;
        }
      }
      if (performance.now() > deadline) throw new AppError("UNAVAILABLE", "The room is moving between nodes: retry");
      // The owner did not answer (or nobody holds the room): look again shortly, and at the
      // moment its silence makes it dead (then this node may take the room), not a poll later.
      // (A moment already past, a reading too stale for dead() to judge, or a beat read since:
      // the usual pause, never a spin.)
      const backoff = Math.min(DEAD_AFTER_MS / 4, 50 * 2 ** attempt);
      const judged = own.owner ? this.liveness.deadAt(own.owner) - performance.now() + 1 : 0;
      await new Promise((r) => setTimeout(r, judged > 0 ? Math.min(backoff, judged) : backoff));
    }
  }

  async #run<T>(roomId: string, fn: (room: Room) => Promise<T> | T): Promise<T> {
    const room = await this.#load(roomId);
    room.touch();
    try {
      return await fn(room);
    } catch (err) {
      if (hasCode(err, "CONFLICT") && (err as { data?: { collection?: string } }).data?.collection === "room_log") {
        await this.drop(roomId); // another node wrote this room's next seq: it owns the room now
        throw new AppError("UNAVAILABLE", "The room moved to another node: retry");
      }
      throw err;
    }
  }

  loaded(roomId: string): Promise<Room> | undefined {
    return this.#rooms.get(roomId);
  }

  async drop(roomId: string): Promise<void> {
    const r = this.#rooms.get(roomId);
    this.#rooms.delete(roomId);
    (await r?.catch(() => undefined))?.close();
    await this.leases.release(roomId);
  }

  /** Starts beating (liveness.ts) before the node takes any room. */
  async start(): Promise<void> {
    await this.liveness.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const roomId of [...this.#rooms.keys()]) await this.drop(roomId);
    await this.liveness.stop();
  }

  #load(roomId: string): Promise<Room> {
    let r = this.#rooms.get(roomId);
    if (!r) {
      r = Room.load(roomId, { store: this.#store, log: this.#log, settings: this.#cfg, publish: (room, items) => this.#publish({ room, items }) });
      r.catch(() => void this.drop(roomId));
      this.#rooms.set(roomId, r);
    }
    return r;
  }

  #publish(out: RoomOut): void {
    this.#broker.broadcast("rooms.out", out, { groups: ["gateway"] }).catch((err: unknown) => this.#broker.logger.warn(`rooms: fan-out failed: ${String(err)}`));
  }

  /** Unloads rooms nobody is in any more, so a long-running node does not keep every room it
   *  ever served (their state is in the store; the next join loads it again). */
  async #unloadIdle(): Promise<void> {
    for (const [roomId, r] of [...this.#rooms]) {
      const room = await r.catch(() => undefined);
      if (room && room.idleMs() >= this.#cfg.idleUnloadMs) {
        this.#broker.logger.info(`rooms: unloading idle room ${roomId}`);
        await this.drop(roomId);
      }
    }
  }

  async #renew(): Promise<void> {
    await this.#unloadIdle().catch((err: unknown) => this.#broker.logger.warn(`rooms: unloading idle rooms failed: ${String(err)}`));
    try {
      for (const roomId of await this.leases.renew()) {
        this.#broker.logger.warn(`rooms: lost the lease of room ${roomId}; another node owns it now`);
        const r = this.#rooms.get(roomId);
        this.#rooms.delete(roomId);
        (await r?.catch(() => undefined))?.close();
      }
    } catch (err) {
      this.#broker.logger.warn(`rooms: lease renewal failed: ${String(err)}`);
    }
  }
}

