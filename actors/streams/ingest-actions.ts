/**
 * The streams actor's stream-key actions (ingest-keys.ts):
 *   ingestKey [creator, owner]        the live stream's key (revealed again at will)
 *   rotateIngestKey [creator, owner]  a new key; ingests on the old one end (event streams.ingestKeyChanged)
 *   revokeIngestKey [creator, owner]  no key works until rotated; ingests end
 *   checkIngestKey [internal]         key -> stream and owner (media nodes, the WHIP route)
 */
import type { Context, ServiceActionsSchema } from "moleculer";
import { AppError, hasCode } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import type { Entry } from "../../store/index.js";
import { assertOwnerOrAdmin } from "../ownership.js";
import type { IngestKeys } from "./ingest-keys.js";
import type { IngestGrant } from "../../protocol/ingest.js";

type Ctx<P> = Context<P, CallMeta>;

/** What these actions read of a stream's record (streams.service.ts Stream). */
interface StreamRecord {
  id: string;
  ownerId: string;
  ownerName: string;
  kind: string;
  status: string;
  mediaNode?: string;
}


export function ingestActions(keys: IngestKeys, load: (id: string) => Promise<Entry<StreamRecord>>, id: object): ServiceActionsSchema {
  const ownLive = async (ctx: Ctx<{ id: string }>): Promise<StreamRecord> => {
    const s = (await load(ctx.params.id)).value;
    assertOwnerOrAdmin(ctx.meta.caller, s.ownerId);
    if (s.kind !== "live") throw new AppError("BAD_REQUEST", "Only live streams have a stream key");
    return s;
  };
  const changed = (ctx: Ctx<{ id: string }>) => ctx.broadcast("streams.ingestKeyChanged", { id: ctx.params.id }, { groups: ["media"] });
  return {
    ingestKey: {
      access: "creator",
      params: { id },
      async handler(ctx: Ctx<{ id: string }>) {
        const s = await ownLive(ctx);
        return { key: await keys.reveal(s.id) };
      },
    },
    rotateIngestKey: {
      access: "creator",
      params: { id },
      async handler(ctx: Ctx<{ id: string }>) {
        const s = await ownLive(ctx);
        const key = await keys.rotate(s.id);
        await changed(ctx);
        return { key };
      },
    },
    revokeIngestKey: {
      access: "creator",
      params: { id },
      async handler(ctx: Ctx<{ id: string }>) {
        const s = await ownLive(ctx);
        await keys.revoke(s.id);
        await changed(ctx);
        return { revoked: s.id };
      },
    },
    /** The media node serving the caller's live stream, if placed (the studio's ingest line asks
     *  that node; the node id itself stays inside the gateway). */
    mediaNodeOf: {
      access: "creator",
      params: { id },
      handler: async (ctx: Ctx<{ id: string }>) => (await ownLive(ctx)).mediaNode ?? null,
    },
    checkIngestKey: {
      access: "internal",
      params: { key: { type: "string", min: 1, max: 300 } },
      async handler(ctx: Ctx<{ key: string }>): Promise<IngestGrant> {
        const streamId = await keys.verify(ctx.params.key);
        const s = streamId === undefined ? undefined : (await load(streamId).catch(() => undefined))?.value;
        if (!s || s.kind !== "live") throw new AppError("FORBIDDEN", "Wrong, rotated or revoked stream key");
        if (s.status === "ended") throw new AppError("CONFLICT", "This stream has ended: create a new one");
        const { role } = await ctx.call<{ role: string }, { userId: string }>("sessions.userRole", { userId: s.ownerId }).catch((err: unknown) => {
          if (hasCode(err, "NOT_FOUND")) return { role: "none" };
          throw err;
        });
        if (role !== "creator" && role !== "admin") throw new AppError("FORBIDDEN", "The stream's owner may no longer broadcast");
        return { streamId: s.id, ownerId: s.ownerId, ownerName: s.ownerName, ownerRole: role };
      },
    },
  };
}
