/**
 * rooms actor: the audience room of each stream. Metadata (owner, chat settings, bans, mutes)
 * is persisted; the live room (sequence, history, polls, reactions, presence) lives on exactly
 * one rooms node, its owner (leases.ts). Any rooms node accepts a call and forwards it to the
 * owner; the owner broadcasts sequenced events and aggregates as `rooms.out` to the gateways.
 *
 *   create [internal]  remove [internal]  get [public]  update [creator, owner]
 *   join [internal: a gateway's batch of joins]  chat [guest]  vote [viewer]
 *   pollCreate / pollClose / deleteMessage / mute / ban [creator, room owner or admin]
 *   react / presence [internal: gateways send their pre-aggregated sums; presence answers the seq]
 *   events [internal: a gateway fetches events it missed (lost broadcasts), gateway/room-sequencer.ts]
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError, hasCode } from "../../lib/errors.js";
import { mustGet, type Store } from "../../store/index.js";
import { assertOwnerOrAdmin, callerUserId } from "../ownership.js";
import { LiveRooms, type RoomCallMeta } from "./live-rooms.js";
import { reapNode } from "../../lib/node-reaper.js";
import { JOIN_BATCH_MAX, REACTIONS, ROOM_FIELDS, type JoinBatchAnswer, type JoinSlot, type UserRef } from "../../protocol/rooms.js";
import { ROLES, type Principal } from "../../lib/identity.js";
import type { Room } from "./room.js";
import { canWatch, VISIBILITIES, type Visibility, type Watchable } from "../streams/visibility.js";
import type { RoomMeta } from "./room-meta.js";
import { ID_SCHEMA } from "../../protocol/ids.js";
import { TtlCache } from "../../lib/ttl-cache.js";

const C = "rooms";
type Ctx<P> = Context<P, RoomCallMeta>;
const id = ID_SCHEMA;
const F = ROOM_FIELDS;
const principalSchema = {
  type: "object",
  props: { userId: id, name: { type: "string", max: 64 }, role: { type: "enum", values: [...ROLES] }, guest: "boolean", sid: { type: "string", max: 128 }, exp: "number" },
};
const userRef = { type: "object", props: { id: { type: "string", max: 64 }, name: { type: "string", max: 64 } } };

const principalRef = (ctx: Ctx<unknown>): UserRef => {
  const c = ctx.meta.caller;
  if (c?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
  return { id: c.principal.userId, name: c.principal.name };
};

/** How long a room trusts what it last heard of its stream's visibility and grants. */
const ACCESS_TTL_MS = 5000;

export function roomsService(cfg: AppConfig, store: Store): ServiceSchema {
  let live: LiveRooms;
  /** The room's owner, visibility and grants, from its own record, kept briefly and read once
   *  per room at a time (joins and chats are many; a reconnect storm's joins share one read);
   *  while the store is unreachable, what it said last still holds. */
  const access = new TtlCache<Watchable>(ACCESS_TTL_MS, 10_000);
  const roomAccess = (rid: string): Promise<Watchable> => access.get(rid, () => readAccess(rid));
  const readAccess = async (rid: string): Promise<Watchable> => {
    const meta = await load(rid).then((e) => e.value, (err: unknown) => {
      const last = access.stale(rid);
      if (last && !hasCode(err, "NOT_FOUND")) return last;
      throw err;
    });
    return { ownerId: meta.ownerId, ...(meta.visibility ? { visibility: meta.visibility } : {}), ...(meta.grants ? { grants: meta.grants } : {}) };
  };
  /** A private stream's room is for those who may watch it (its chat is its content too). */
  const mayWatch = async (ctx: Ctx<unknown>, rid: string): Promise<void> => {
    if (!canWatch(await roomAccess(rid), ctx.meta.caller)) throw new AppError("NOT_FOUND", "No such room");
  };
  const load = (rid: string) => mustGet<RoomMeta>(store, C, rid, "room");
  /** Moderation: the room's owner (the stream's creator) or an admin. */
  const moderate = <P extends { id: string }, T>(fn: (room: Room, ctx: Ctx<P>) => Promise<T> | T, idempotent = true) => (ctx: Ctx<P>) =>
    live.onOwner(ctx, (room) => {
      assertOwnerOrAdmin(ctx.meta.caller, room.ownerId);
      return fn(room, ctx);
    }, { idempotent });
  return {
    name: "rooms",
    actions: {
      create: {
        access: "internal",
        params: { id, ownerId: id, visibility: { type: "enum", values: VISIBILITIES, optional: true }, grants: { type: "array", items: "string", max: 100, optional: true } },
        async handler(ctx: Ctx<{ id: string; ownerId: string; visibility?: Visibility; grants?: string[] }>) {
          const now = Date.now();
          const room: RoomMeta = { id: ctx.params.id, ownerId: ctx.params.ownerId, chatEnabled: true, slowModeSec: 0, visibility: ctx.params.visibility ?? "public", grants: ctx.params.grants ?? [], createdAt: now, updatedAt: now };
          await store.put(C, room.id, room, { expect: 0 });
          return room;
        },
      },
      /** Its stream's visibility or grants changed (streams.update). */
      setAccess: {
        access: "internal",
        params: { id, visibility: { type: "enum", values: VISIBILITIES }, grants: { type: "array", items: "string", max: 100 } },
        async handler(ctx: Ctx<{ id: string; visibility: Visibility; grants: string[] }>) {
          for (let attempt = 0; ; attempt++) {
            const e = await load(ctx.params.id);
            const room: RoomMeta = { ...e.value, visibility: ctx.params.visibility, grants: ctx.params.grants, updatedAt: Date.now() };
            try {
              await store.put(C, room.id, room, { expect: e.revision });
              await ctx.broadcast("rooms.updated", room);
              return { id: room.id, visibility: room.visibility };
            } catch (err) {
              if (!hasCode(err, "CONFLICT") || attempt >= 4) throw err;
            }
          }
        },
      },
      /** The room's settings; its ban and mute lists only for its owner and admins. */
      get: {
        access: "public",
        params: { id },
        async handler(ctx: Ctx<{ id: string }>) {
          await mayWatch(ctx, ctx.params.id);
          const room = (await load(ctx.params.id)).value;
          const c = ctx.meta.caller;
          if (c === undefined || (c.kind === "user" && (c.principal.role === "admin" || c.principal.userId === room.ownerId))) return room;
          const rest: RoomMeta = { ...room };
          delete rest.bans;
          delete rest.mutes;
          delete rest.grants;
          return rest;
        },
      },
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
      /** A gateway's joins of one room, gathered while its previous batch was on its way
       *  (gateway/join-batcher.ts): the room once, a slot per member (a refused member gets
       *  its error in its slot; the others still join). */
      join: {
        access: "internal",
        params: { id, members: { type: "array", min: 1, max: JOIN_BATCH_MAX, items: { type: "object", props: { principal: principalSchema, since: F.since } } } },
        async handler(ctx: Ctx<{ id: string; members: { principal: Principal; since?: number }[] }>) {
          const members = ctx.params.members;
          const s = await roomAccess(ctx.params.id);
          const may = members.map((m) => canWatch(s, { kind: "user", principal: m.principal }));
          if (!may.includes(true)) throw new AppError("NOT_FOUND", "No such room");
          const refused: JoinSlot = { error: { code: "NOT_FOUND", message: "No such room" } };
          const b = await live.onOwner(ctx, (room) => room.join(members.map((m) => ({ userId: m.principal.userId, since: m.since }))));
          return { ...b, members: b.members.map((slot, i) => (may[i] ? slot : refused)) } satisfies JoinBatchAnswer;
        },
      },
      chat: {
        access: "guest",
        params: { id, text: F.text, cid: F.cid },
        async handler(ctx: Ctx<{ id: string; text: string; cid?: string }>) {
          await mayWatch(ctx, ctx.params.id);
          return live.onOwner(ctx, async (room) => ({ seq: (await room.chat(principalRef(ctx), ctx.params.text, ctx.params.cid)).seq }), { idempotent: ctx.params.cid !== undefined });
        },
      },
      vote: {
        access: "viewer",
        params: { id, pollId: F.pollId, option: F.option },
        async handler(ctx: Ctx<{ id: string; pollId: string; option: number }>) {
          await mayWatch(ctx, ctx.params.id);
          return live.onOwner(ctx, (room) => room.pollVote(ctx.params.pollId, callerUserId(ctx.meta.caller), ctx.params.option));
        },
      },
      pollCreate: {
        access: "creator",
        params: { id, question: F.question, options: F.options },
        handler: moderate<{ id: string; question: string; options: string[] }, unknown>((room, ctx) => room.pollCreate(ctx.params.question, ctx.params.options), false),
      },
      pollClose: {
        access: "creator",
        params: { id, pollId: F.pollId },
        handler: moderate<{ id: string; pollId: string }, unknown>((room, ctx) => room.pollClose(ctx.params.pollId)),
      },
      deleteMessage: {
        access: "creator",
        params: { id, seq: F.seq },
        handler: moderate<{ id: string; seq: number }, unknown>((room, ctx) => room.deleteMessage(ctx.params.seq, callerUserId(ctx.meta.caller))),
      },
      mute: {
        access: "creator",
        params: { id, userId: F.userId, seconds: F.muteSeconds },
        handler: moderate<{ id: string; userId: string; seconds: number }, unknown>((room, ctx) => room.mute(ctx.params.userId, ctx.params.seconds)),
      },
      ban: {
        access: "creator",
        params: { id, userId: F.userId },
        handler: moderate<{ id: string; userId: string }, unknown>((room, ctx) => room.ban(ctx.params.userId)),
      },
      react: {
        access: "internal",
        params: { id, counts: { type: "record", key: { type: "enum", values: [...REACTIONS] }, value: { type: "number", integer: true, min: 1, max: 100000 } } },
        handler: (ctx: Ctx<{ id: string; counts: Record<string, number> }>) => live.onOwner(ctx, (room) => room.react(ctx.params.counts), { idempotent: false }),
      },
      presence: {
        access: "internal",
        params: { id, nodeId: { type: "string", max: 128 }, count: { type: "number", integer: true, min: 0 }, sample: { type: "array", max: 20, items: userRef } },
        // Answers the room's seq: gateways compare it with the last event they forwarded (gap repair).
        handler: (ctx: Ctx<{ id: string; nodeId: string; count: number; sample: UserRef[] }>) =>
          live.onOwner(ctx, (room) => {
            room.presence(ctx.params.nodeId, ctx.params.count, ctx.params.sample);
            return { seq: room.seq };
          }),
      },
      events: {
        access: "internal",
        params: { id, since: { type: "number", integer: true, min: 0 } },
        // A gateway that missed broadcasts (a NATS server died) fetches them from the owner's history.
        handler: (ctx: Ctx<{ id: string; since: number }>) => live.onOwner(ctx, (room) => ({ seq: room.seq, events: room.since(ctx.params.since) })),
      },
    },
    events: {
      "rooms.updated": {
        handler: async (ctx: Context<RoomMeta>) => {
          access.forget(ctx.params.id);
          (await live.loaded(ctx.params.id)?.catch(() => undefined))?.settingsChanged(ctx.params);
        },
      },
      /** A rooms node found a node dead (liveness.ts): out of this registry now (node-reaper.ts). */
      "rooms.nodeDead": { handler(this: Service, ctx: Context<{ nodeID: string }>) {
        reapNode(this.broker, ctx.params.nodeID);
      } },
    },
    async started() {
      live = new LiveRooms(cfg.rooms, store, this.broker);
      await live.start();
    },
    async stopped() {
      await live.stop();
    },
  };
}
