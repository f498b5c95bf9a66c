/**
 * streams actor: the catalog of live streams and videos, persisted in the store.
 *   create [creator]  update [creator, owner]  remove [creator, owner]  get [public]  list [public]
 *   setStatus [internal] (media and encoder actors move a stream through its lifecycle)
 *   createRecording [internal] (a VOD stream for the recording of a live one, same owner)
 *   playbackKey [guest] (the AES-128 key of a ready VOD asset: the platform's license check)
 *   place [guest] (which media node serves a live stream: its origin, kept while that node is up,
 *     for the broadcaster; for viewers the origin while it has room, else a relay node)
 *   setCaptions / removeCaptions [creator, owner]: WebVTT captions of a ready video (caption-actions.ts)
 *   search [public] (ranked, paged, typo-tolerant catalog search with filters: catalog-search.ts)
 *   ingestKey / rotateIngestKey / revokeIngestKey [creator, owner], checkIngestKey [internal]:
 *     stream keys for encoders (ingest-actions.ts)
 * Every stream has a room (same id) for its audience, created and removed with it.
 */
import { deleteStreamObjects, type BlobStore } from "../../blobs/index.js";
import { randomBytes } from "node:crypto";
import type { Context, Service, ServiceBroker, ServiceSchema } from "moleculer";
import { AppError, hasCode } from "../../lib/errors.js";
import type { Caller, CallMeta } from "../../lib/identity.js";
import { mustGet, type Store } from "../../store/index.js";
import { assertOwnerOrAdmin } from "../ownership.js";
import type { MediaLoad } from "../media/media-node.js";
import type { AppConfig } from "../../lib/config.js";
import { canWatch, isListed, manages, VISIBILITIES, type Visibility } from "./visibility.js";
import { ID_SCHEMA, STREAM_CATEGORY_PATTERN, STREAM_LANGUAGE_PATTERN, USERNAME_SCHEMA } from "../../protocol/ids.js";
import { ingestActions } from "./ingest-actions.js";
import { IngestKeys } from "./ingest-keys.js";
import { ladderSeconds } from "./durations.js";
import { CatalogSearch } from "./catalog-search.js";
import { captionActions } from "./caption-actions.js";
import type { Caption } from "./captions.js";
import type { StreamStatusEvent } from "../../protocol/notifications.js";
import { SEARCH_PARAMS, type SearchParams } from "../../protocol/search.js";

export const STREAM_KINDS = ["live", "vod"] as const;
export const STREAM_STATUSES = ["created", "live", "ended", "processing", "ready", "failed"] as const;
export type StreamStatus = (typeof STREAM_STATUSES)[number];

/** Allowed lifecycle moves; anything else is CONFLICT. */
const NEXT: Record<StreamStatus, readonly StreamStatus[]> = {
  created: ["live", "processing", "ended"],
  live: ["ended"],
  ended: ["processing"],
  processing: ["ready", "failed"],
  ready: [],
  failed: ["processing"],
};

export interface Stream {
  id: string;
  ownerId: string;
  ownerName: string;
  title: string;
  description: string;
  kind: (typeof STREAM_KINDS)[number];
  status: StreamStatus;
  createdAt: number;
  updatedAt: number;
  /** Moleculer node id of the media node hosting the live stream. */
  mediaNode?: string;
  /** What it is about ("music", "gaming", ...; default "general") and its language (BCP 47
   *  primary tag, "" = unknown): content features for recommendations. */
  category?: string;
  language?: string;
  /** Who may watch and who sees it listed (visibility.ts); absent = public. */
  visibility?: Visibility;
  /** A private stream's granted users: ids (the rule) and names (for its owner's studio). */
  grants?: string[];
  grantNames?: string[];
  /** A video's length as its encoder probed it (set when it becomes ready): cards show it, and
   *  recommendations measure completion against it rather than what a player reports. */
  durationSec?: number;
  /** A video's caption languages (captions.ts), in its HLS master's SUBTITLES group. */
  captions?: Caption[];
  /** A live show's viewers now (answers only: never stored). */
  viewers?: number;
}

const C = "streams";
type Ctx<P> = Context<P, CallMeta>;
const id = ID_SCHEMA;
const title = { type: "string", min: 1, max: 200, trim: true };
const description = { type: "string", max: 5000, optional: true };
const category = { type: "string", min: 1, max: 32, pattern: STREAM_CATEGORY_PATTERN, optional: true };
const language = { type: "string", max: 8, pattern: STREAM_LANGUAGE_PATTERN, optional: true };
const visibility = { type: "enum", values: VISIBILITIES, optional: true };
const grants = { type: "array", max: 100, items: USERNAME_SCHEMA, optional: true };

/** How often the catalog checks its `live` streams against the media nodes' reports. */
const RECONCILE_MS = 5000;
/** A media report older than this vouches for nothing (nodes report at least every 2 s). */
const REPORT_FRESH_MS = 6000;

export function streamsService(store: Store, cfg: AppConfig, blobs: BlobStore): ServiceSchema {
  const load = (sid: string) => mustGet<Stream>(store, C, sid, "stream");
  const keys = new IngestKeys(store);
  /** License check: the stream must be a finished VOD asset the caller may watch (visibility.ts). */
  async function licensed(sid: string, caller: Caller | undefined): Promise<Stream> {
    const s = (await load(sid)).value;
    if (s.kind !== "vod" || s.status !== "ready" || !canWatch(s, caller)) throw new AppError("FORBIDDEN", "No playback rights for this asset now");
    return s;
  }

  /** The stream, if this caller may see it at all: a private stream is NOT_FOUND to the rest. */
  async function visible(sid: string, caller: Caller | undefined): Promise<Stream> {
    const s = (await load(sid)).value;
    if (!canWatch(s, caller)) throw new AppError("NOT_FOUND", "No such stream");
    return s;
  }

  /** Usernames -> the grant lists of a private stream. */
  async function resolveGrants(ctx: Ctx<unknown>, names: string[]): Promise<Pick<Stream, "grants" | "grantNames">> {
    if (names.length === 0) return { grants: [], grantNames: [] };
    const users = await ctx.call<{ id: string; username: string }[], { usernames: string[] }>("sessions.resolveUsers", { usernames: [...new Set(names)] });
    return { grants: users.map((u) => u.id), grantNames: users.map((u) => u.username) };
  }

  /** A live stream's viewers now: the sum over fresh media reports (its origin and relays). */
  function audience(sid: string): number {
    const now = Date.now();
    let n = 0;
    for (const l of loads.values()) if (now - l.at <= REPORT_FRESH_MS) n += l.audience?.[sid] ?? 0;
    return n;
  }
  /** A stream as a caller sees it, with its live audience. */
  const shown = (s: Stream, caller: Caller | undefined): Stream => ({ ...forCaller(s, caller), ...(s.kind === "live" && s.status === "live" ? { viewers: audience(s.id) } : {}) });

  /** Load reports from media nodes (event media.load), for viewer placement. */
  const loads = new Map<string, MediaLoad & { at: number }>();
  /** Live streams no fresh media report vouches for, and since when. */
  const unvouched = new Map<string, number>();
  let reconciler: NodeJS.Timeout | undefined;
  let rebuilder: NodeJS.Timeout | undefined;
  const search = new CatalogSearch<Stream>();

  /** A catalog write (at store revision `rev`): this node's search index at once, the other
   *  streams actors' over an event. */
  async function indexed(ctx: Ctx<unknown>, s: Stream | { id: string; removed: true }, rev = 0): Promise<void> {
    if ("removed" in s) search.drop(s.id);
    else search.apply(s, rev);
    await ctx.broadcast("streams.indexed", "removed" in s ? s : { stream: s, rev }, { groups: ["streams"] });
  }

  /** The index from the store (at start, and now and then: an event lost in transit heals). */
  async function rebuild(): Promise<void> {
    const readAt = Date.now();
    search.rebuild(await store.list<Stream>(C), readAt);
  }

  /** The stream's origin media node: kept while it is up, else chosen (and recorded). */
  /** The stream's origin media node: kept while it is up, else `prefer` (the node an encoder
   *  reached) when it runs the media actor, else any. */
  async function placeOrigin(broker: ServiceBroker, sid: string, prefer?: string): Promise<{ nodeID: string }> {
    const e = await load(sid);
    const nodes = mediaNodes(broker);
    if (nodes.length === 0) throw new AppError("UNAVAILABLE", "No media node is running");
    if (e.value.mediaNode !== undefined && nodes.includes(e.value.mediaNode)) return { nodeID: e.value.mediaNode };
    if (e.value.kind !== "live" || (e.value.status !== "created" && e.value.status !== "live")) throw new AppError("CONFLICT", `The stream is ${e.value.status}`);
    const nodeID = prefer !== undefined && nodes.includes(prefer) ? prefer : (nodes[Math.floor(Math.random() * nodes.length)] as string);
    try {
      await store.put(C, e.key, { ...e.value, mediaNode: nodeID, updatedAt: Date.now() }, { expect: e.revision });
      return { nodeID };
    } catch (err) {
      if (!hasCode(err, "CONFLICT")) throw err;
      const again = (await load(sid)).value.mediaNode; // placed concurrently: take that one
      if (again === undefined) throw err;
      return { nodeID: again };
    }
  }

  /** Viewers go to the origin while it has room, else to the least-loaded other media node,
   *  which relays the stream from the origin through a PipeTransport. */
  function viewerNode(origin: string, nodes: string[]): { nodeID: string; origin?: string } {
    const now = Date.now();
    const ratio = (n: string): number => {
      const l = loads.get(n);
      return l === undefined || now - l.at > 10_000 ? 0 : l.viewers / Math.max(1, l.capacity);
    };
    if (ratio(origin) < 1) return { nodeID: origin };
    const best = nodes.filter((n) => n !== origin && ratio(n) < 1).sort((a, b) => ratio(a) - ratio(b))[0];
    return best === undefined ? { nodeID: origin } : { nodeID: best, origin };
  }

  /** The catalog converges to the truth: a `live` stream that no media node vouches for (its
   *  node died or restarted, its broadcaster vanished there) for longer than the broadcaster's
   *  grace period is ended. The media node ends streams it hosts itself; this covers the node. */
  async function reconcile(broker: ServiceBroker): Promise<void> {
    const now = Date.now();
    const vouched = new Set<string>();
    for (const l of loads.values()) if (now - l.at <= REPORT_FRESH_MS) for (const sid of l.live) vouched.add(sid);
    const live = (await store.list<Stream>(C)).filter((e) => e.value.kind === "live" && e.value.status === "live");
    // Never shorter than a few report rounds: a worker's death closes a stream for the moment its
    // broadcaster takes to come back on a fresh one.
    const wait = Math.max(cfg.media.broadcasterGraceMs, 10_000);
    const seen = new Set<string>();
    for (const { value: s } of live) {
      seen.add(s.id);
      if (vouched.has(s.id)) {
        unvouched.delete(s.id);
        continue;
      }
      const since = unvouched.get(s.id) ?? now;
      unvouched.set(s.id, since);
      if (now - since < wait) continue;
      unvouched.delete(s.id);
      broker.logger.warn(`streams: ${s.id} is live in the catalog but no media node has served it for ${Math.round((now - since) / 1000)} s: ended`);
      await broker.call("streams.setStatus", { id: s.id, status: "ended" }).catch((err: unknown) => {
        if (!hasCode(err, "CONFLICT")) broker.logger.warn(`streams: could not end ${s.id}: ${String(err)}`);
      });
    }
    for (const sid of unvouched.keys()) if (!seen.has(sid)) unvouched.delete(sid);
  }

  /** Ready videos without a length: read it from the stored ladder (a conflict means another node did). */
  async function backfillDurations(broker: ServiceBroker): Promise<void> {
    let done = 0;
    for (const e of await store.list<Stream>(C)) {
      const s = e.value;
      if (s.kind !== "vod" || s.status !== "ready" || s.durationSec !== undefined) continue;
      const seconds = await ladderSeconds(blobs, s.id).catch(() => undefined);
      if (seconds === undefined) continue;
      const next: Stream = { ...s, durationSec: seconds };
      await store.put(C, s.id, next, { expect: e.revision }).then((rev) => (done++, search.apply(next, rev)), (err: unknown) => {
        if (!hasCode(err, "CONFLICT")) throw err;
      });
    }
    if (done > 0) broker.logger.info(`streams: read ${String(done)} video length(s) back from their ladders`);
  }

  return {
    name: "streams",
    async started(this: Service) {
      await rebuild();
      rebuilder = setInterval(() => void rebuild().catch((err: unknown) => this.logger.warn(`streams: search index rebuild failed: ${String(err)}`)), REBUILD_MS);
      rebuilder.unref();
      // Videos encoded before the catalog kept their length get it from their ladder, once.
      setTimeout(() => void backfillDurations(this.broker).catch((err: unknown) => this.logger.warn(`streams: reading videos' lengths back failed: ${String(err)}`)), 2000).unref();
      let running = false;
      reconciler = setInterval(() => {
        if (running) return;
        running = true;
        reconcile(this.broker).catch((err: unknown) => this.logger.warn(`streams: reconcile failed: ${String(err)}`)).finally(() => (running = false));
      }, RECONCILE_MS);
      reconciler.unref();
    },
    stopped() {
      clearInterval(reconciler);
      clearInterval(rebuilder);
    },
    events: {
      /** Another streams actor wrote the catalog: this node's search index follows. */
      "streams.indexed": {
        handler(this: Service, ctx: Context<{ stream?: Stream; rev?: number; id?: string; removed?: boolean }>) {
          if (ctx.nodeID === this.broker.nodeID) return; // applied when written
          if (ctx.params.stream && ctx.params.rev !== undefined) search.apply(ctx.params.stream, ctx.params.rev);
          else if (ctx.params.removed === true && ctx.params.id !== undefined) search.drop(ctx.params.id);
        },
      },
      "media.load": { handler: (ctx: Context<MediaLoad>) => void loads.set(ctx.nodeID ?? "", { ...ctx.params, at: Date.now() }) },
    },
    actions: {
      ...ingestActions(keys, load, id),
      ...captionActions<Stream>(store, blobs, load, id, (ctx, s, rev) => indexed(ctx, s, rev)),
      create: {
        access: "creator",
        params: { title, description, kind: { type: "enum", values: STREAM_KINDS }, category, language, visibility, grants },
        async handler(ctx: Ctx<{ title: string; description?: string; kind: Stream["kind"]; category?: string; language?: string; visibility?: Visibility; grants?: string[] }>) {
          const caller = ctx.meta.caller;
          if (caller?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
          const now = Date.now();
          const s: Stream = {
            id: randomBytes(9).toString("base64url"),
            ownerId: caller.principal.userId,
            ownerName: caller.principal.name,
            title: ctx.params.title,
            description: ctx.params.description ?? "",
            kind: ctx.params.kind,
            status: "created",
            createdAt: now,
            updatedAt: now,
            category: ctx.params.category ?? "general",
            language: ctx.params.language ?? "",
            visibility: ctx.params.visibility ?? "public",
            ...(await resolveGrants(ctx, ctx.params.grants ?? [])),
          };
          await store.put(C, s.id, s, { expect: 0 });
          await ctx.call("rooms.create", { id: s.id, ownerId: s.ownerId, visibility: s.visibility, grants: s.grants ?? [] });
          return forCaller(s, ctx.meta.caller);
        },
      },
      createRecording: {
        access: "internal",
        params: { liveId: id },
        async handler(ctx: Ctx<{ liveId: string }>) {
          const live = (await load(ctx.params.liveId)).value;
          const now = Date.now();
          // The recording is seen by whoever could see the show.
          const s: Stream = { id: randomBytes(9).toString("base64url"), ownerId: live.ownerId, ownerName: live.ownerName, title: `${live.title} (recording)`.slice(0, 200), description: live.description, kind: "vod", status: "created", createdAt: now, updatedAt: now, category: live.category ?? "general", language: live.language ?? "", visibility: live.visibility ?? "public", grants: live.grants ?? [], grantNames: live.grantNames ?? [] };
          await store.put(C, s.id, s, { expect: 0 });
          await ctx.call("rooms.create", { id: s.id, ownerId: s.ownerId, visibility: s.visibility, grants: s.grants ?? [] });
          return s;
        },
      },
      search: {
        access: "public",
        params: SEARCH_PARAMS,
        handler(ctx: Ctx<SearchParams>) {
          const { q, kind, category, language, offset, limit } = ctx.params;
          const page = search.search({ q, kind, category, language, offset, limit });
          return { ...page, items: page.items.map((s) => shown(s, ctx.meta.caller)) };
        },
      },
      get: { access: "public", params: { id }, handler: async (ctx: Ctx<{ id: string }>) => shown(await visible(ctx.params.id, ctx.meta.caller), ctx.meta.caller) },
      /** Every listed (public) stream, for the recommenders: unlisted and private ones are never recommended. */
      catalog: { access: "internal", handler: async () => (await store.list<Stream>(C)).map((e) => e.value).filter((s) => isListed(s)) },
      list: {
        access: "public",
        params: {
          status: { type: "enum", values: STREAM_STATUSES, optional: true },
          ownerId: { ...id, optional: true },
          limit: { type: "number", integer: true, min: 1, max: 200, optional: true, convert: true },
        },
        async handler(ctx: Ctx<{ status?: StreamStatus; ownerId?: string; limit?: number }>) {
          const { status, ownerId, limit = 50 } = ctx.params;
          const all = (await store.list<Stream>(C)).map((e) => e.value);
          return all
            .filter((s) => (status === undefined || s.status === status) && (ownerId === undefined || s.ownerId === ownerId) && (isListed(s) || (ownerId !== undefined && manages(s, ctx.meta.caller))))
            .sort((a, b) => b.createdAt - a.createdAt)
            .slice(0, limit)
            .map((s) => forCaller(s, ctx.meta.caller));
        },
      },
      update: {
        access: "creator",
        params: { id, title: { ...title, optional: true }, description, category, language, visibility, grants },
        async handler(ctx: Ctx<{ id: string; title?: string; description?: string; category?: string; language?: string; visibility?: Visibility; grants?: string[] }>) {
          const e = await load(ctx.params.id);
          assertOwnerOrAdmin(ctx.meta.caller, e.value.ownerId);
          const p = ctx.params;
          const granted = p.grants === undefined ? {} : await resolveGrants(ctx, p.grants);
          const s: Stream = { ...e.value, title: p.title ?? e.value.title, description: p.description ?? e.value.description, category: p.category ?? e.value.category ?? "general", language: p.language ?? e.value.language ?? "", visibility: p.visibility ?? e.value.visibility ?? "public", ...granted, updatedAt: Date.now() };
          await indexed(ctx, s, await store.put(C, s.id, s, { expect: e.revision }));
          // Who may watch changed: the room follows, gateways and edges forget what they knew.
          if (s.visibility !== (e.value.visibility ?? "public") || p.grants !== undefined) {
            await ctx.call("rooms.setAccess", { id: s.id, visibility: s.visibility ?? "public", grants: s.grants ?? [] });
            await ctx.broadcast("streams.changed", { id: s.id }, { groups: ["gateway"] });
          }
          return forCaller(s, ctx.meta.caller);
        },
      },
      setStatus: {
        access: "internal",
        params: { id, status: { type: "enum", values: STREAM_STATUSES }, durationSec: { type: "number", positive: true, finite: true, optional: true } },
        async handler(ctx: Ctx<{ id: string; status: StreamStatus; durationSec?: number }>) {
          const e = await load(ctx.params.id);
          if (!NEXT[e.value.status].includes(ctx.params.status)) {
            throw new AppError("CONFLICT", `Cannot go from ${e.value.status} to ${ctx.params.status}`);
          }
          const d = ctx.params.durationSec;
          const s: Stream = { ...e.value, status: ctx.params.status, updatedAt: Date.now(), ...(d === undefined ? {} : { durationSec: Math.round(d * 1000) / 1000 }) };
          await indexed(ctx, s, await store.put(C, s.id, s, { expect: e.revision }));
          const event: StreamStatusEvent = { id: s.id, status: s.status, kind: s.kind, ownerId: s.ownerId, ownerName: s.ownerName, title: s.title, listed: isListed(s) };
          await ctx.emit("streams.status", event);
          return s;
        },
      },
      playable: {
        access: "guest",
        params: { id },
        handler: async (ctx: Ctx<{ id: string }>) => forCaller(await licensed(ctx.params.id, ctx.meta.caller), ctx.meta.caller),
      },
      playbackKey: {
        access: "guest",
        params: { id },
        async handler(ctx: Ctx<{ id: string }>) {
          const s = await licensed(ctx.params.id, ctx.meta.caller);
          const key = await store.get<{ key: string }>("media_keys", s.id);
          if (!key) throw new AppError("NOT_FOUND", "No key for this asset");
          return { key: key.value.key };
        },
      },
      place: {
        access: "guest",
        params: { id, role: { type: "enum", values: ["broadcaster", "viewer"], optional: true }, prefer: { type: "string", max: 200, optional: true } },
        async handler(this: Service, ctx: Ctx<{ id: string; role?: "broadcaster" | "viewer"; prefer?: string }>) {
          if (ctx.params.role !== "broadcaster") await visible(ctx.params.id, ctx.meta.caller); // a private show's viewers are its owner's to choose
          const origin = await placeOrigin(this.broker, ctx.params.id, ctx.params.role === "broadcaster" ? ctx.params.prefer : undefined);
          return ctx.params.role === "viewer" ? viewerNode(origin.nodeID, mediaNodes(this.broker)) : origin;
        },
      },
      remove: {
        access: "creator",
        params: { id },
        async handler(this: Service, ctx: Ctx<{ id: string }>) {
          const e = await load(ctx.params.id);
          assertOwnerOrAdmin(ctx.meta.caller, e.value.ownerId);
          await store.delete(C, e.key, { expect: e.revision });
          await indexed(ctx, { id: e.key, removed: true });
          await ctx.call("rooms.remove", { id: e.key });
          await keys.remove(e.key);
          await ctx.broadcast("streams.ingestKeyChanged", { id: e.key }, { groups: ["media"] }); // an ingest on it ends
          // Gateways and edges stop serving its files now, not when their view of the catalog expires.
          await ctx.broadcast("streams.changed", { id: e.key, removed: true }, { groups: ["gateway"] });
          if (this.broker.registry.actions.isAvailable("encoders.streamRemoved")) {
            await ctx.call("encoders.streamRemoved", { streamId: e.key }).catch((err: unknown) => this.logger.warn(`streams: encoders not told of removed stream ${e.key}: ${String(err)}`));
          }
          // Its objects go in the background (many objects take a while); once more when a media
          // node or an encoder that was still writing for it has stopped (the live mirror also
          // deletes what its session wrote when it stops).
          const sweep = () => void deleteStreamObjects(blobs, e.key).catch((err: unknown) => {
            this.logger.warn(`streams: the media objects of removed stream ${e.key} could not all be deleted: ${String(err)}`);
          });
          sweep();
          setTimeout(sweep, SWEEP_AGAIN_MS).unref();
          return { removed: e.key };
        },
      },
    },
  };
}

/** What a caller may see of a stream: which media node hosts it is internal topology (node ids
 *  name hosts and processes), for admins and other actors only; who was granted a private
 *  stream is for those who manage it. */
export function forCaller(s: Stream, caller: Caller | undefined): Stream {
  const admin = caller === undefined || (caller.kind === "user" && caller.principal.role === "admin");
  const rest: Stream = { ...s };
  if (!admin) delete rest.mediaNode;
  if (!manages(s, caller)) {
    delete rest.grants;
    delete rest.grantNames;
  }
  return rest;
}

/** Nodes that run the media actor and are up. */
function mediaNodes(broker: ServiceBroker): string[] {
  const list = broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as { name: string; nodeID: string }[];
  return [...new Set(list.filter((s) => s.name === "media").map((s) => s.nodeID))].sort();
}

/** How often each streams actor rebuilds its search index from the store. */
const REBUILD_MS = 5 * 60_000;

/** A removed stream's objects are deleted at once and again after this long (its ingest and
 *  live packaging stop within it). */
const SWEEP_AGAIN_MS = 5000;

