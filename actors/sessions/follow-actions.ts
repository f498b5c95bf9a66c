/**
 * The sessions actor's follow actions (follows.ts):
 *   follow [viewer] {creatorId}       follow a creator (a creator or admin account, not yourself)
 *   unfollow [viewer] {creatorId}
 *   muteFollow [viewer] {creatorId, muted}   stop (or resume) that creator's live notifications
 *   following [viewer]                whom I follow, newest first
 *   followers [public] {creatorId}    how many follow a creator; `following`/`muted` for the caller
 *   followedIds [internal] {userId}   whom a user follows (the recommenders' Following row)
 * and the "went live" notification: on `streams.status` live of a public show, the creator's
 * followers who did not mute them are told over every gateway (`notify.users`), at most once per
 * TELL_EVERY_MS per creator.
 */
import type { Context, ServiceActionsSchema, ServiceEvents } from "moleculer";
import { AppError } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import { ID_SCHEMA } from "../../protocol/ids.js";
import type { LiveNotification, StreamStatusEvent } from "../../protocol/notifications.js";
import type { Accounts } from "./accounts.js";
import type { Follows } from "./follows.js";

type Ctx<P> = Context<P, CallMeta>;
/** A creator's followers are told they went live at most once per this long. */
export const TELL_EVERY_MS = 10 * 60_000;
const NOTIFY_SLICE = 5000;
const creatorId = ID_SCHEMA;

function me(ctx: Ctx<unknown>): string {
  const c = ctx.meta.caller;
  if (c?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
  return c.principal.userId;
}

export function followActions(follows: () => Follows, accounts: () => Accounts): ServiceActionsSchema {
  return {
    follow: {
      access: "viewer",
      params: { creatorId },
      async handler(ctx: Ctx<{ creatorId: string }>) {
        const creator = await accounts().byId(ctx.params.creatorId);
        if (!creator || creator.role === "viewer") throw new AppError("NOT_FOUND", "No such creator");
        return follows().follow(me(ctx), { id: creator.id, name: creator.username });
      },
    },
    unfollow: {
      access: "viewer",
      params: { creatorId },
      async handler(ctx: Ctx<{ creatorId: string }>) {
        await follows().unfollow(me(ctx), ctx.params.creatorId);
        return { following: false };
      },
    },
    muteFollow: {
      access: "viewer",
      params: { creatorId, muted: { type: "boolean" } },
      handler: (ctx: Ctx<{ creatorId: string; muted: boolean }>) => follows().setMuted(me(ctx), ctx.params.creatorId, ctx.params.muted),
    },
    following: { access: "viewer", handler: (ctx: Ctx<object>) => follows().list(me(ctx)) },
    followers: {
      access: "public",
      params: { creatorId },
      async handler(ctx: Ctx<{ creatorId: string }>) {
        const count = await follows().count(ctx.params.creatorId);
        const c = ctx.meta.caller;
        const mine = c?.kind === "user" && !c.principal.guest ? await follows().get(c.principal.userId, ctx.params.creatorId) : undefined;
        return { creatorId: ctx.params.creatorId, count, following: mine !== undefined, muted: mine?.muted ?? false };
      },
    },
    followedIds: {
      access: "internal",
      params: { userId: ID_SCHEMA },
      handler: async (ctx: Ctx<{ userId: string }>) => (await follows().list(ctx.params.userId)).map((f) => ({ creatorId: f.creatorId, creatorName: f.creatorName })),
    },
  };
}

export function followEvents(follows: () => Follows): ServiceEvents {
  return {
    /** A public show went live: its creator's followers (not muted) hear of it on every gateway. */
    "streams.status": {
      async handler(ctx: Context<StreamStatusEvent>) {
        const s = ctx.params;
        if (s.status !== "live" || s.kind !== "live" || s.listed !== true || s.ownerId === undefined) return;
        const now = Date.now();
        if (!(await follows().mayTell(s.ownerId, now, TELL_EVERY_MS))) return;
        const notify = await follows().toNotify(s.ownerId);
        const n: LiveNotification = { kind: "live", streamId: s.id, title: s.title ?? "", creatorId: s.ownerId, creatorName: s.ownerName ?? "", at: now };
        // In slices: a creator with a million followers is many small events, not one huge one.
        for (let i = 0; i < notify.length; i += NOTIFY_SLICE) await ctx.broadcast("notify.users", { userIds: notify.slice(i, i + NOTIFY_SLICE), notification: n }, { groups: ["gateway"] });
      },
    },
  };
}
