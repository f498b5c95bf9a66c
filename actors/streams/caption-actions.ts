/**
 * The streams actor's caption actions (captions.ts):
 *   setCaptions [creator, owner]     {id, lang, label, vtt}: attach or replace one language of a ready video
 *   removeCaptions [creator, owner]  {id, lang}
 * Each rewrites the video's HLS master (its SUBTITLES group) and tells gateways and edges to drop
 * what they cached of the video (streams.changed).
 */
import type { Context, ServiceActionsSchema } from "moleculer";
import type { BlobStore } from "../../blobs/index.js";
import { AppError } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import type { Entry, Store } from "../../store/index.js";
import { assertOwnerOrAdmin } from "../ownership.js";
import { CAPTION_LANG, checkVtt, LADDER_FIRST_PTS, masterWithCaptions, MAX_CAPTION_BYTES, MAX_CAPTIONS, subtitlesPlaylist, withTimestampMap, type Caption } from "./captions.js";
import { ladderSeconds } from "./durations.js";

type Ctx<P> = Context<P, CallMeta>;

/** What these actions read and write of a stream's record (streams.service.ts Stream). */
interface Captioned {
  id: string;
  ownerId: string;
  kind: string;
  status: string;
  durationSec?: number;
  captions?: Caption[];
  updatedAt: number;
}

export function captionActions<S extends Captioned>(store: Store, blobs: BlobStore, load: (id: string) => Promise<Entry<S>>, id: object, written: (ctx: Ctx<unknown>, s: S, rev: number) => Promise<void>): ServiceActionsSchema {
  const lang = { type: "string", min: 2, max: 12, pattern: CAPTION_LANG };

  async function owned(ctx: Ctx<{ id: string }>): Promise<Entry<S>> {
    const e = await load(ctx.params.id);
    assertOwnerOrAdmin(ctx.meta.caller, e.value.ownerId);
    if (e.value.kind !== "vod" || e.value.status !== "ready") throw new AppError("CONFLICT", "Captions go on a ready video");
    return e;
  }

  /** Commits the record with these captions (a conflict: someone else changed it first, nothing
   *  is published), then writes the master from what the store holds, again if a later commit
   *  changed the captions meanwhile: the master ends as the last committed record says. */
  async function publish(ctx: Ctx<unknown>, e: Entry<S>, captions: Caption[]): Promise<S> {
    const s: S = { ...e.value, captions, updatedAt: Date.now() };
    const rev = await store.put("streams", s.id, s, { expect: e.revision });
    await written(ctx, s, rev);
    const key = `vod/${s.id}/master.m3u8`;
    let wrote = "";
    for (let round = 0; round < 5; round++) {
      const now = await load(s.id);
      const want = JSON.stringify(now.value.captions ?? []);
      if (want === wrote) break;
      const master = await blobs.get(key);
      if (!master) throw new AppError("NOT_FOUND", "The video has no master playlist");
      await blobs.put(key, Buffer.from(masterWithCaptions(master.body.toString("utf8"), now.value.captions ?? [])));
      wrote = want;
    }
    await ctx.broadcast("streams.changed", { id: s.id }, { groups: ["gateway"] });
    return s;
  }

  return {
    setCaptions: {
      access: "creator",
      params: { id, lang, label: { type: "string", min: 1, max: 64, trim: true }, vtt: { type: "string", min: 6, max: MAX_CAPTION_BYTES } },
      async handler(ctx: Ctx<{ id: string; lang: string; label: string; vtt: string }>) {
        const e = await owned(ctx);
        const { cues } = checkVtt(ctx.params.vtt);
        const others = (e.value.captions ?? []).filter((c) => c.lang !== ctx.params.lang);
        if (others.length >= MAX_CAPTIONS) throw new AppError("CONFLICT", `At most ${String(MAX_CAPTIONS)} caption languages`);
        const seconds = e.value.durationSec ?? (await ladderSeconds(blobs, e.value.id)) ?? 1;
        const dir = `vod/${e.value.id}/subs`;
        // Tied to the video's first timestamp, so HLS players place the cues on its timeline.
        await blobs.put(`${dir}/${ctx.params.lang}.vtt`, Buffer.from(withTimestampMap(ctx.params.vtt, LADDER_FIRST_PTS)));
        await blobs.put(`${dir}/${ctx.params.lang}.m3u8`, Buffer.from(subtitlesPlaylist(ctx.params.lang, seconds)));
        const s = await publish(ctx, e, [...others, { lang: ctx.params.lang, label: ctx.params.label }].sort((a, b) => a.label.localeCompare(b.label)));
        ctx.broker.logger.info(`streams: captions ${ctx.params.lang} (${String(cues)} cues) on ${s.id}`);
        return { captions: s.captions ?? [], cues };
      },
    },
    removeCaptions: {
      access: "creator",
      params: { id, lang },
      async handler(ctx: Ctx<{ id: string; lang: string }>) {
        const e = await owned(ctx);
        if (!(e.value.captions ?? []).some((c) => c.lang === ctx.params.lang)) throw new AppError("NOT_FOUND", "No captions in that language");
        const s = await publish(ctx, e, (e.value.captions ?? []).filter((c) => c.lang !== ctx.params.lang));
        for (const ext of ["vtt", "m3u8"]) await blobs.delete(`vod/${s.id}/subs/${ctx.params.lang}.${ext}`);
        return { captions: s.captions ?? [] };
      },
    },
  };
}

