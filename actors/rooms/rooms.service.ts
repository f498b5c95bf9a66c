/**
 * rooms actor: the audience room of each stream. For now its persisted metadata (owner, chat
 * settings); live chat, reactions, polls and presence build on it.
 *   create [internal]  remove [internal]  get [public]  update [creator, owner]
 */
import type { Context, ServiceSchema } from "moleculer";
import type { CallMeta } from "../../lib/identity.js";
import { mustGet, type Store } from "../../store/index.js";
import { assertOwnerOrAdmin } from "../ownership.js";

export interface RoomMeta {
  id: string;
  ownerId: string;
  chatEnabled: boolean;
  /** Minimum seconds between two chat messages of one user; 0 = off. */
  slowModeSec: number;
  createdAt: number;
  updatedAt: number;
}

const C = "rooms";
type Ctx<P> = Context<P, CallMeta>;
const id = { type: "string", min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/ };

export function roomsService(store: Store): ServiceSchema {
  const load = (rid: string) => mustGet<RoomMeta>(store, C, rid, "room");
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
          const room: RoomMeta = {
            ...e.value,
            chatEnabled: ctx.params.chatEnabled ?? e.value.chatEnabled,
            slowModeSec: ctx.params.slowModeSec ?? e.value.slowModeSec,
            updatedAt: Date.now(),
          };
          await store.put(C, room.id, room, { expect: e.revision });
          await ctx.emit("rooms.updated", room);
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
    },
  };
}
