/**
 * rooms actor: the audience room of each stream. Metadata (owner, chat settings, bans, mutes)
 * is persisted; the live room (sequence, history, polls, reactions, presence) lives on exactly
 * one rooms node, its owner (leases.ts). Any rooms node accepts a call and forwards it to the
 * owner; the owner broadcasts sequenced events and aggregates as `rooms.out` to the gateways.
 *
 *   create [internal]  remove [internal]  get [public]  update [creator, owner]
 *   join [guest]  chat [guest]  vote [viewer]
 *   pollCreate / pollClose / deleteMessage / mute / ban [creator, room owner or admin]
 *   react / presence [internal: gateways send their pre-aggregated sums]
 */
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import { mustGet, type Store } from "../../store/index.js";
import { assertOwnerOrAdmin, callerUserId } from "../ownership.js";
import { Leases } from "./leases.js";
import { RoomLog } from "./room-log.js";
import { REACTIONS, type RoomOut, type UserRef } from "./room-protocol.js";
import { Room } from "./room.js";

export interface RoomMeta {
  id: string;
  ownerId: string;
  chatEnabled: boolean;
  /** Minimum seconds between two chat messages of one user; 0 = off. */
  slowModeSec: number;
  /** Banned user ids: refused at join, chat and vote; kicked when banned. */
  bans?: string[];
  /** Muted user id -> until (ms since the epoch). */
  mutes?: Record<string, number>;
  createdAt: number;
  updatedAt: number;
}

const C = "rooms";
type Meta = CallMeta & { forwarded?: boolean };
type Ctx<P> = Context<P, Meta>;
const id = { type: "string", min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/ };
const userRef = { type: "object", props: { id: { type: "string", max: 64 }, name: { type: "string", max: 64 } } };

/** The owner-side registry of live rooms on this node. */
class LiveRooms {
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
      const e = err as { type?: string; data?: { collection?: string } };
      if (e.type === "CONFLICT" && e.data?.collection === "room_log") {
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

const principalRef = (ctx: Ctx<unknown>): UserRef => {
  const c = ctx.meta.caller;
  if (c?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
  return { id: c.principal.userId, name: c.principal.name };
};

export function roomsService(cfg: AppConfig, store: Store): ServiceSchema {
  let live: LiveRooms;
  const load = (rid: string) => mustGet<RoomMeta>(store, C, rid, "room");
  /** Moderation: the room's owner (the stream's creator) or an admin. */
  const moderate = <P extends { id: string }, T>(fn: (room: Room, ctx: Ctx<P>) => Promise<T> | T) => (ctx: Ctx<P>) =>
    live.onOwner(ctx, (room) => {
      assertOwnerOrAdmin(ctx.meta.caller, room.ownerId);
      return fn(room, ctx);
    });
  return {
    name: "rooms",
    actions: {
      create: {
        access: "internal",
        params: { id, ownerId: id },
        async handler(ctx: Ctx<{ id: string; ownerId: string }>) {
          const now = Date.now();
          const room: RoomMeta = { id: ctx.params.id, ownerId: ctx.params.ownerId, chatEnabled: true, slowModeSec: 0, createdAt: now, updatedAt: now };
          await store.put(C, room.id, room, { expect: 0 });
          return room;
        },
      },
      get: { access: "public", params: { id }, handler: async (ctx: Ctx<{ id: string }>) => (await load(ctx.params.id)).value },
      update: {
        access: "creator",
        params: { id, chatEnabled: { type: "boolean", optional: true }, slowModeSec: { type: "number", integer: true, min: 0, max: 3600, optional: true } },
        async handler(ctx: Ctx<{ id: string; chatEnabled?: boolean; slowModeSec?: number }>) {
          const e = await load(ctx.params.id);
          assertOwnerOrAdmin(ctx.meta.caller, e.value.ownerId);
          const room: RoomMeta = { ...e.value, chatEnabled: ctx.params.chatEnabled ?? e.value.chatEnabled, slowModeSec: ctx.params.slowModeSec ?? e.value.slowModeSec, updatedAt: Date.now() };
          await store.put(C, room.id, room, { expect: e.revision });
          await ctx.broadcast("rooms.updated", room);
          return room;
        },
      },
      remove: {
        access: "internal",
        params: { id },
        async handler(ctx: Ctx<{ id: string }>) {
          await store.delete(C, ctx.params.id);
          return { removed: ctx.params.id };
        },
      },
      join: {
        access: "guest",
        params: { id, since: { type: "number", integer: true, min: 0, optional: true } },
        handler: (ctx: Ctx<{ id: string; since?: number }>) => live.onOwner(ctx, (room) => room.join(callerUserId(ctx.meta.caller), ctx.params.since)),
      },
      chat: {
        access: "guest",
        params: { id, text: { type: "string", min: 1, max: 2000 } },
        handler: (ctx: Ctx<{ id: string; text: string }>) => live.onOwner(ctx, async (room) => ({ seq: (await room.chat(principalRef(ctx), ctx.params.text)).seq })),
      },
      vote: {
        access: "viewer",
        params: { id, pollId: id, option: { type: "number", integer: true, min: 0, max: 31 } },
        handler: (ctx: Ctx<{ id: string; pollId: string; option: number }>) => live.onOwner(ctx, (room) => room.pollVote(ctx.params.pollId, callerUserId(ctx.meta.caller), ctx.params.option)),
      },
      pollCreate: {
        access: "creator",
        params: { id, question: { type: "string", min: 1, max: 300 }, options: { type: "array", min: 2, max: 10, items: { type: "string", min: 1, max: 100 } } },
        handler: moderate<{ id: string; question: string; options: string[] }, unknown>((room, ctx) => room.pollCreate(ctx.params.question, ctx.params.options)),
      },
      pollClose: {
        access: "creator",
        params: { id, pollId: id },
        handler: moderate<{ id: string; pollId: string }, unknown>((room, ctx) => room.pollClose(ctx.params.pollId)),
      },
      deleteMessage: {
        access: "creator",
        params: { id, seq: { type: "number", integer: true, min: 1 } },
        handler: moderate<{ id: string; seq: number }, unknown>((room, ctx) => room.deleteMessage(ctx.params.seq, callerUserId(ctx.meta.caller))),
      },
      mute: {
        access: "creator",
        params: { id, userId: id, seconds: { type: "number", integer: true, min: 1, max: 7 * 86400 } },
        handler: moderate<{ id: string; userId: string; seconds: number }, unknown>((room, ctx) => room.mute(ctx.params.userId, ctx.params.seconds)),
      },
      ban: {
        access: "creator",
        params: { id, userId: id },
        handler: moderate<{ id: string; userId: string }, unknown>((room, ctx) => room.ban(ctx.params.userId)),
      },
      react: {
        access: "internal",
        params: { id, counts: { type: "record", key: { type: "enum", values: [...REACTIONS] }, value: { type: "number", integer: true, min: 1, max: 100000 } } },
        handler: (ctx: Ctx<{ id: string; counts: Record<string, number> }>) => live.onOwner(ctx, (room) => room.react(ctx.params.counts)),
      },
      presence: {
        access: "internal",
        params: { id, nodeId: { type: "string", max: 128 }, count: { type: "number", integer: true, min: 0 }, sample: { type: "array", max: 20, items: userRef } },
        handler: (ctx: Ctx<{ id: string; nodeId: string; count: number; sample: UserRef[] }>) => live.onOwner(ctx, (room) => room.presence(ctx.params.nodeId, ctx.params.count, ctx.params.sample)),
      },
    },
    events: {
      "rooms.updated": {
        handler: async (ctx: Context<RoomMeta>) => (await live.loaded(ctx.params.id)?.catch(() => undefined))?.settingsChanged(ctx.params),
      },
    },
    started() {
      live = new LiveRooms(cfg.rooms, store, this.broker);
    },
    async stopped() {
      await live.stop();
    },
  };
}
