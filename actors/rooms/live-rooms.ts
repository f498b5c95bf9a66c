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
import { RoomLog } from "./room-log.js";
import type { RoomOut } from "../../protocol/rooms.js";
import { Room } from "./room.js";
import type { RoomMeta } from "./room-meta.js";

/** `forwarded` marks a call one rooms node passed to the owner, so it is never passed on again. */
export type RoomCallMeta = CallMeta & { forwarded?: boolean };
type Ctx<P> = Context<P, RoomCallMeta>;
const C = "rooms";

/** The owner-side registry of live rooms on this node. */
export class LiveRooms {
  readonly leases: Leases;
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
    this.leases = new Leases(store, broker.nodeID, cfg.leaseTtlMs);
    this.#timer = setInterval(() => void this.#renew(), Math.max(250, cfg.leaseTtlMs / 3));
    this.#timer.unref();
  }

  /** Runs `fn` on the owner of the room: here, or forwarded to the node that owns it. */
  async onOwner<T>(ctx: Ctx<{ id: string }>, fn: (room: Room) => Promise<T> | T): Promise<T> {
    const roomId = ctx.params.id;
    // Unknown room ids get NOT_FOUND before any lease is written for them.
    if (!this.leases.holds(roomId)) await mustGet<RoomMeta>(this.#store, C, roomId, "room");
    const own = await this.leases.acquire(roomId);
    if (!own.mine) {
      if (ctx.meta.forwarded || !own.owner) throw new AppError("UNAVAILABLE", "The room is moving between nodes: retry");
      return ctx.call<T, unknown>(String(ctx.action?.name), ctx.params, { nodeID: own.owner, meta: { forwarded: true } });
    }
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

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const roomId of [...this.#rooms.keys()]) await this.drop(roomId);
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

