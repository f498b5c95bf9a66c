/**
 * media actor: mediasoup on this node. Gateways call it for their clients' signalling (WebSocket
 * `media.*` messages, WHIP, WHEP); `peerId` names the client connection or HTTP session and is
 * set by the gateway, never by the client.
 *   join [guest]  connect produce consume resume quality leave [guest, own peer]
 *   end [creator, owner]  stats [internal]
 * Only the stream's owner joins as broadcaster (and so produces); any valid token may view.
 */
import type { BlobStore } from "../../blobs/index.js";
import os from "node:os";
import type { Context, ServiceSchema } from "moleculer";
import type { types } from "mediasoup";
import type { AppConfig } from "../../lib/config.js";
import { AppError, hasCode } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import { QUALITIES, type Quality } from "../../protocol/media.js";
import { WorkerPool } from "../../media/worker-pool.js";
import type { Stream } from "../streams/streams.service.js";
import type { PeerOwner } from "../../media/live-stream.js";
import type { Revocation } from "../../lib/revocations.js";
import { MediaNode, type OriginNews } from "./media-node.js";
import { MediaMetrics } from "./media-metrics.js";
import type { PipedProducer, PipeEnd } from "../../media/node-pipes.js";
import type { LiveStream } from "../../media/live-stream.js";
import { ID_SCHEMA } from "../../protocol/ids.js";
import { parseOffer } from "../../media/sdp.js";
import { whep, whip } from "../../media/whip-whep.js";
import { EncoderIngest } from "./encoder-ingest.js";
import type { IngestStatus } from "../../protocol/ingest.js";
import { assertOwnerOrAdmin } from "../ownership.js";
import { MAX_SDP_BYTES, MEDIA_OBJECT_ID_SCHEMA } from "../../protocol/media.js";

/** The catalog says live once media flows (audio and video may race here: CONFLICT = already live). */
async function markLive(ctx: Context, streamId: string): Promise<void> {
  await ctx.call("streams.setStatus", { id: streamId, status: "live" }).catch((err: unknown) => {
    if (!hasCode(err, "CONFLICT")) throw err;
  });
}

type Ctx<P> = Context<P, CallMeta>;
const id = ID_SCHEMA;
const peerId = { type: "string", min: 1, max: 200 };
const mediaId = MEDIA_OBJECT_ID_SCHEMA;
const obj = { type: "object" };
const base = { streamId: id, peerId };
/** The client's address, set by the gateway for WHIP/WHEP sessions (never by the client). */
const ip = { type: "string", max: 64, optional: true };

/** The peer's owner: the calling user, their login session, and the client's address. */
function ownerOf(ctx: Ctx<{ ip?: string }>): PeerOwner {
  const caller = ctx.meta.caller;
  if (caller?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
  return { userId: caller.principal.userId, sid: caller.principal.sid, ip: ctx.params.ip ?? "" };
}

interface Base {
  streamId: string;
  peerId: string;
}

export function mediaService(cfg: AppConfig, blobs: BlobStore): ServiceSchema {
  let node: MediaNode;
  let ingest: EncoderIngest | undefined;
  let metrics: MediaMetrics | undefined;
  /** Checks the stream can be joined in this role by the caller, and opens it here. */
  const admit = async (ctx: Ctx<Base & { origin?: string; ip?: string }>, role: "broadcaster" | "viewer"): Promise<{ live: LiveStream; who: PeerOwner }> => {
    const who = ownerOf(ctx);
    const userId = who.userId;
    const stream = await ctx.call<Stream, { id: string }>("streams.get", { id: ctx.params.streamId });
    if (stream.kind !== "live") throw new AppError("BAD_REQUEST", "Not a live stream");
    if (stream.status !== "created" && stream.status !== "live") throw new AppError("CONFLICT", `The stream is ${stream.status}`);
    if (role === "broadcaster" && stream.ownerId !== userId) throw new AppError("FORBIDDEN", "Only the stream's owner may broadcast");
    const origin = ctx.params.origin;
    const live = origin !== undefined && origin !== ctx.broker.nodeID ? await node.openRelay(stream.id, origin) : await node.open(stream.id);
    return { live, who };
  };

  return {
    name: "media",
    actions: {
      join: {
        access: "guest",
        params: { ...base, role: { type: "enum", values: ["broadcaster", "viewer"] }, origin: { type: "string", min: 1, max: 200, optional: true } },
        async handler(ctx: Ctx<Base & { role: "broadcaster" | "viewer"; origin?: string }>) {
          const { live, who } = await admit(ctx, ctx.params.role);
          const transport = await live.join(ctx.params.peerId, who, ctx.params.role);
          if (ctx.params.role === "broadcaster") node.broadcasterJoined(live.id);
          const producers = [...live.producers.entries()].map(([pid, p]) => ({ producerId: pid, kind: p.producer.kind, source: p.source }));
          return { rtpCapabilities: live.rtpCapabilities, transport, producers };
        },
      },
      whip: {
        access: "creator",
        params: { ...base, sdp: { type: "string", min: 10, max: MAX_SDP_BYTES }, ip },
        async handler(ctx: Ctx<Base & { sdp: string; ip?: string }>) {
          const offer = parseOffer(ctx.params.sdp);
          const { live, who } = await admit(ctx, "broadcaster");
          const answer = await whip(live, ctx.params.peerId, who, offer);
          node.broadcasterJoined(live.id);
          await markLive(ctx, live.id);
          return { sdp: answer };
        },
      },
      whep: {
        access: "guest",
        params: { ...base, sdp: { type: "string", min: 10, max: MAX_SDP_BYTES }, origin: { type: "string", min: 1, max: 200, optional: true }, ip },
        async handler(ctx: Ctx<Base & { sdp: string; origin?: string; ip?: string }>) {
          const offer = parseOffer(ctx.params.sdp);
          // Each WHEP session costs a router, a transport and consumers: capped per user and per address.
          const release = node.reserveWhep(ctx.params.peerId, ownerOf(ctx));
          try {
            const { live, who } = await admit(ctx, "viewer");
            if (live.producers.size === 0) throw new AppError("CONFLICT", "The broadcaster is not live yet: retry later");
            return { sdp: await whep(live, ctx.params.peerId, who, offer) };
          } finally {
            release();
          }
        },
      },
      connect: {
        access: "guest",
        params: { ...base, transportId: mediaId, dtlsParameters: obj },
        async handler(ctx: Ctx<Base & { transportId: string; dtlsParameters: types.DtlsParameters }>) {
          await node.get(ctx.params.streamId).connect(ctx.params.peerId, ctx.params.transportId, ctx.params.dtlsParameters);
          return { connected: true };
        },
      },
      produce: {
        access: "creator",
        params: { ...base, transportId: mediaId, kind: { type: "enum", values: ["audio", "video"] }, rtpParameters: obj, source: { type: "enum", values: ["camera", "screen", "mic", "whip"] } },
        async handler(ctx: Ctx<Base & { transportId: string; kind: types.MediaKind; rtpParameters: types.RtpParameters; source: string }>) {
          const { streamId, peerId: pid, transportId, kind, rtpParameters, source } = ctx.params;
          const producerId = await node.get(streamId).produce(pid, transportId, kind, rtpParameters, source);
          await markLive(ctx, streamId);
          return { producerId };
        },
      },
      consume: {
        access: "guest",
        params: { ...base, transportId: mediaId, rtpCapabilities: obj },
        async handler(ctx: Ctx<Base & { transportId: string; rtpCapabilities: types.RtpCapabilities }>) {
          return { consumers: await node.get(ctx.params.streamId).consume(ctx.params.peerId, ctx.params.transportId, ctx.params.rtpCapabilities) };
        },
      },
      resume: {
        access: "guest",
        params: { ...base, consumerId: mediaId },
        async handler(ctx: Ctx<Base & { consumerId: string }>) {
          await node.get(ctx.params.streamId).resume(ctx.params.peerId, ctx.params.consumerId);
          return { resumed: true };
        },
      },
      quality: {
        access: "guest",
        params: { ...base, consumerId: mediaId, quality: { type: "enum", values: QUALITIES } },
        async handler(ctx: Ctx<Base & { consumerId: string; quality: Quality }>) {
          await node.get(ctx.params.streamId).setQuality(ctx.params.peerId, ctx.params.consumerId, ctx.params.quality);
          return { quality: ctx.params.quality };
        },
      },
      leave: {
        access: "guest",
        params: base,
        handler(ctx: Ctx<Base>) {
          let left: boolean;
          try {
            const live = node.get(ctx.params.streamId);
            const peer = live.peer(ctx.params.peerId);
            const caller = ctx.meta.caller;
            // The gateway cleans up for itself (no caller); a user (WHIP/WHEP DELETE) ends only their own session.
            if (peer && caller?.kind === "user" && caller.principal.userId !== peer.userId && caller.principal.role !== "admin") throw new AppError("FORBIDDEN", "Not your session");
            left = live.leave(ctx.params.peerId);
          } catch (err) {
            if (hasCode(err, "FORBIDDEN")) throw err;
            return { left: false }; // not open here: nothing to leave
          }
          node.left(ctx.params.streamId);
          return { left };
        },
      },
      end: {
        access: "creator",
        params: { streamId: id },
        async handler(ctx: Ctx<{ streamId: string }>) {
          const stream = await ctx.call<Stream, { id: string }>("streams.get", { id: ctx.params.streamId });
          const caller = ctx.meta.caller;
          if (caller?.kind === "user" && caller.principal.userId !== stream.ownerId && caller.principal.role !== "admin") throw new AppError("FORBIDDEN", "Only the owner or an admin may end a stream");
          await node.end(stream.id, "ended by its owner");
          return { ended: stream.id };
        },
      },
      pipeOut: {
        access: "internal",
        params: { streamId: id, relayNode: peerId, ip: { type: "string", min: 1, max: 100 }, port: { type: "number", integer: true, min: 1, max: 65535 }, srtpParameters: { type: "object", optional: true } },
        handler(ctx: Ctx<{ streamId: string; relayNode: string } & PipeEnd>) {
          const { streamId, relayNode, ip, port, srtpParameters } = ctx.params;
          return node.get(streamId).pipeOut(relayNode, { ip, port, srtpParameters });
        },
      },
      pipeIn: {
        access: "internal",
        params: { streamId: id, producers: { type: "array", max: 16, items: "object" } },
        async handler(ctx: Ctx<{ streamId: string; producers: PipedProducer[] }>) {
          await node.get(ctx.params.streamId).addPiped(ctx.params.producers);
          return { piped: ctx.params.producers.length };
        },
      },
      liveKey: {
        access: "guest",
        params: { streamId: id, n: { type: "number", integer: true, min: 1, convert: true } },
        handler(ctx: Ctx<{ streamId: string; n: number }>) {
          const key = node.liveKey(ctx.params.streamId, ctx.params.n);
          if (!key) throw new AppError("NOT_FOUND", "No such live key (expired or not this session)");
          return { key: key.toString("base64") };
        },
      },
      /** What comes in for a live stream here (the studio's ingest line): owner or admin. */
      ingestStatus: {
        access: "creator",
        params: { streamId: id },
        async handler(ctx: Ctx<{ streamId: string }>): Promise<IngestStatus> {
          const stream = await ctx.call<Stream, { id: string }>("streams.get", { id: ctx.params.streamId });
          assertOwnerOrAdmin(ctx.meta.caller, stream.ownerId);
          const s = ingest?.stats(stream.id);
          const refusal = ingest?.lastRefusal(stream.id);
          const last = refusal ? { lastRefusal: refusal } : {};
          if (s) return { ingest: s.kind, videoKbps: s.videoKbps, fps: s.fps, width: s.width, height: s.height, audio: s.audio, ...last };
          return { ingest: node.broadcasting(stream.id) ? "webrtc" : null, ...last };
        },
      },
      stats: {
        access: "internal",
        async handler() {
          return { workers: await node.pool.usage(), ...node.stats() };
        },
      },
    },
    events: {
      "media.origin": { handler: (ctx: Context<OriginNews>) => node.onOrigin(ctx.nodeID ?? "", ctx.params) },
      "$node.disconnected": { handler: (ctx: Context<{ node: { id: string } }>) => node.onNodeGone(ctx.params.node.id) },
      /** Revoked sessions lose their media too: WHIP publishers and WHEP players have no socket
       *  the gateway could close. */
      "sessions.revoked": {
        handler(this: { logger: { info(m: string): void } }, ctx: Context<{ list: Revocation[] }>) {
          const closed = node.closeSessions(new Set(ctx.params.list.map((r) => r.sid)));
          if (closed > 0) this.logger.info(`media: closed ${closed} media session(s) of revoked sessions`);
        },
      },
      /** A key-based ingest (RTMP) has no session: it ends when its owner is revoked or its key changes. */
      "sessions.userRevoked": {
        handler: (ctx: Context<{ userId: string }>) => {
          ingest?.ownerRevoked(ctx.params.userId);
          node.closeIngestOf(ctx.params.userId);
        },
      },
      "streams.ingestKeyChanged": {
        handler: (ctx: Context<{ id: string }>) => {
          ingest?.keyChanged(ctx.params.id);
          node.closeSessions(new Set([`ingest:${ctx.params.id}`])); // WHIP sessions started with the key
        },
      },
    },
    async started() {
      const count = cfg.media.workers || os.availableParallelism();
      const pool = await WorkerPool.create(cfg.media, count, this.logger);
      node = new MediaNode(cfg.media, pool, this.broker, cfg.dataDir, blobs, cfg.blobs);
      metrics = new MediaMetrics(this.broker, node);
      ingest = new EncoderIngest(cfg.media, node, this.broker);
      await ingest.start(cfg.host);
    },
    stopped() {
      metrics?.stop();
      ingest?.stop();
      node.closeAll();
      node.pool.close();
    },
  };
}
