/**
 * One live stream on this media node: its routers (stream-routers.ts: the origin, where the
 * broadcaster's producers live, plus routers on other workers as viewers grow), its producers,
 * its peers (peer.ts: one per client connection or WHIP/WHEP session, owning transports,
 * producers and consumers), and its pipes to and from other media nodes (node-pipes.ts).
 * WHIP/WHEP sessions are made in whip-whep.ts; live HLS is the media node's (live-packaging.ts).
 *
 * Close cascade: close() -> routers closed -> transports, producers, consumers closed by
 * mediasoup; the stream tells its clients once (`onNotice`) and its owner once (`onClosed`).
 * A worker dying closes its routers: if the origin goes, the whole stream closes with reason
 * "worker-died" and clients are told to reconnect (the broadcaster republishes); if a viewers'
 * router goes, only its viewers are dropped and told (`onPeersLost`): they join again and are
 * placed on a router that is up, while everyone else keeps playing.
 */
import type { types } from "mediasoup";
import type { CloseReason, StreamNotice } from "../protocol/media.js";
import type { ConsumerInfo, TransportInfo } from "./transport-info.js";
import type { AppConfig } from "../lib/config.js";
import { AppError } from "../lib/errors.js";
import { spatialLayerOf, type Quality } from "./codecs.js";
import type { WorkerPool } from "./worker-pool.js";
import { StreamRouters } from "./stream-routers.js";
import { Peer, type Hosted, type PeerOwner, type PeerRole } from "./peer.js";
import { connectPipe, createPipe, endOf, OriginPipes, type PipedProducer, type PipeEnd } from "./node-pipes.js";

export type { PeerOwner, PeerRole } from "./peer.js";
/** At most one key frame request per this long reaches a broadcaster (per producer). */
export const KEYFRAME_REQUEST_DELAY_MS = 1000;
export interface LiveStreamHooks {
  onNotice(n: StreamNotice): void;
  onClosed(reason: CloseReason, stream: LiveStream): void;
  /** Origin side: a new producer is on the pipe to this relay node; tell that node. */
  onPiped?(relayNode: string, p: PipedProducer): void;
  /** A peer was dropped by the stream itself (ICE/DTLS lost, never connected); it has left. */
  onPeerLost?(peerId: string, role: PeerRole, why: string): void;
  /** Viewers dropped because the worker of their router died: they should join again. */
  onPeersLost?(peerIds: string[], reason: CloseReason): void;
}

/** Relay side: asks the origin node for a pipe to our end; answers its end and the producers. */
export type PipeHandshake = (local: PipeEnd) => Promise<PipeEnd & { producers: PipedProducer[] }>;

export class LiveStream {
  readonly id: string;
  readonly #cfg: AppConfig["media"];
  readonly #hooks: LiveStreamHooks;
  readonly #routers: StreamRouters;
  readonly #peers = new Map<string, Peer>();
  /** Producers on the origin router, with their source ("camera" | "screen" | "mic"). */
  readonly producers = new Map<string, { producer: types.Producer; source: string }>();
  /** Origin side: pipes to relay nodes, by node id. */
  readonly #pipesOut: OriginPipes;
  /** Relay side: the origin node's id and the pipe from it. */
  #relay: { origin: string; transport: types.PipeTransport } | undefined;
  #closed = false;
  #wentLive = false;

  private constructor(id: string, pool: WorkerPool, cfg: AppConfig["media"], hooks: LiveStreamHooks) {
    this.id = id;
    this.#cfg = cfg;
    this.#hooks = hooks;
    this.#pipesOut = new OriginPipes(cfg, id);
    this.#routers = new StreamRouters(id, pool, cfg.maxConsumersPerRouter, (lost, origin) => (origin ? this.close("worker-died") : this.#viewersLost(lost)));
  }

  static async open(id: string, pool: WorkerPool, cfg: AppConfig["media"], hooks: LiveStreamHooks): Promise<LiveStream> {
    const s = new LiveStream(id, pool, cfg, hooks);
    await s.#routers.openOrigin();
    return s;
  }

  /** Relay node: media produced here come from this origin node. */
  static async openRelay(id: string, pool: WorkerPool, cfg: AppConfig["media"], hooks: LiveStreamHooks, origin: string, handshake: PipeHandshake): Promise<LiveStream> {
    const s = new LiveStream(id, pool, cfg, hooks);
    const host = await s.#routers.openOrigin();
    try {
      const transport = await createPipe(host.router, cfg, { streamId: id, origin });
      s.#relay = { origin, transport };
      const remote = await handshake(endOf(transport));
      await connectPipe(transport, remote);
      await s.addPiped(remote.producers);
    } catch (err) {
      s.close("origin-lost");
      throw err;
    }
    return s;
  }

  /** The origin node's id when this is a relay. */
  get origin(): string | undefined {
    return this.#relay?.origin;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A broadcaster has produced here (origin only): from then on, its absence ends the stream.
   *  Viewers waiting for a scheduled stream never do. */
  get wentLive(): boolean {
    return this.#wentLive;
  }

  /** Every peer now (per-user and per-IP session caps). */
  peers(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  /** The router the broadcaster's producers live on (live HLS consumes from it). */
  get originRouter(): types.Router {
    return this.#routers.origin().router;
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.#routers.origin().router.rtpCapabilities;
  }

  get viewers(): number {
    let n = 0;
    for (const p of this.#peers.values()) if (p.role === "viewer") n++;
    return n;
  }

  /** Routers in use, for placement tests and stats: worker slot and consumer count of each. */
  hosts(): { slot: number; consumers: number }[] {
    return this.#routers.summary();
  }

  peer(id: string): Peer | undefined {
    return this.#peers.get(id);
  }

  /** Adds a peer with one WebRTC transport (send for the broadcaster, receive for viewers). */
  async join(peerId: string, who: PeerOwner, role: PeerRole, own?: Hosted): Promise<TransportInfo> {
    this.#assertOpen();
    if (role === "broadcaster" && this.#relay) throw new AppError("CONFLICT", "This media node relays the stream: broadcast to its origin node", { reconnect: true });
    if (this.#peers.has(peerId)) this.leave(peerId);
    const host = own ?? (role === "broadcaster" ? this.#routers.origin() : await this.#routers.forViewer(this.producers.keys()));
    const peer = new Peer(peerId, who, role, host, own !== undefined);
    this.#peers.set(peerId, peer);
    let t: types.WebRtcTransport;
    try {
      t = await host.router.createWebRtcTransport({
        webRtcServer: host.slot.webRtcServer,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: this.#cfg.initialOutgoingBitrate,
        appData: { peerId },
      });
    } catch (err) {
      if (this.#peers.get(peerId) === peer) this.leave(peerId); // no peer without a transport (it would count against caps)
      throw err;
    }
    if (!this.#peers.has(peerId)) {
      t.close(); // left while the transport was being made
      throw new AppError("CONFLICT", "Left the stream while joining");
    }
    peer.addTransport(t);
    if (role === "broadcaster") this.#watchConnection(peer, t);
    return { id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters };
  }

  /** Loss of ICE (consent gone, TCP closed) or DTLS (failed, closed by the far end) is the peer
   *  leaving: a crashed encoder or a closed tab sends no WHIP/WHEP DELETE. Broadcasters and
   *  WHEP players are watched; a WebSocket viewer leaves with its socket. */
  #watchConnection(peer: Peer, t: types.WebRtcTransport): void {
    t.on("icestatechange", (state) => {
      if (state === "disconnected" || state === "closed") this.#lose(peer, `ICE ${state}`);
    });
    t.on("dtlsstatechange", (state) => {
      if (state === "failed" || state === "closed") this.#lose(peer, `DTLS ${state}`);
    });
  }

  /** A viewers' router died with its worker: its peers leave (their transports are gone) and are
   *  told to join again; the stream and every other viewer go on. */
  #viewersLost(lost: Hosted): void {
    if (this.#closed) return;
    const gone = [...this.#peers.values()].filter((p) => p.host === lost).map((p) => p.id);
    for (const id of gone) this.leave(id);
    if (gone.length > 0) this.#hooks.onPeersLost?.(gone, "worker-died");
  }

  /** Drops a peer the stream found gone, once, and tells the owner. */
  #lose(peer: Peer, why: string): void {
    if (this.#closed || this.#peers.get(peer.id) !== peer) return;
    this.leave(peer.id);
    this.#hooks.onPeerLost?.(peer.id, peer.role, why);
  }

  /** WHIP/WHEP: an HTTP session has no socket whose close ends it; one that never connects is dropped. */
  #expectConnected(peerId: string, transportId: string): void {
    const peer = this.#peers.get(peerId);
    const transport = peer?.transports.get(transportId);
    if (!peer || !transport) return;
    const timer = setTimeout(() => {
      if (transport.dtlsState !== "connected") this.#lose(peer, `not connected within ${this.#cfg.sessionConnectTimeoutMs} ms`);
    }, this.#cfg.sessionConnectTimeoutMs);
    timer.unref();
    transport.observer.once("close", () => clearTimeout(timer));
  }

  /** Bytes received so far from each broadcaster that produces (the node's media watchdog). */
  async broadcasterBytes(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const peer of [...this.#peers.values()]) {
      if (peer.role !== "broadcaster" || peer.producers.size === 0) continue;
      const bytes = await peer.receivedBytes();
      if (bytes !== undefined) out.set(peer.id, bytes);
    }
    return out;
  }

  /** The watchdog found a broadcaster silent for too long. */
  dropSilent(peerId: string, why: string): void {
    const peer = this.#peers.get(peerId);
    if (peer) this.#lose(peer, why);
  }

  async connect(peerId: string, transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    const t = this.#transport(peerId, transportId);
    await mediaCall("DTLS parameters", () => t.connect({ dtlsParameters }));
  }

  async produce(peerId: string, transportId: string, kind: types.MediaKind, rtpParameters: types.RtpParameters, source: string): Promise<string> {
    const peer = this.#peer(peerId);
    if (peer.role !== "broadcaster") throw new AppError("FORBIDDEN", "Only the broadcaster produces");
    return this.#produceOn(peer, this.#transport(peerId, transportId), kind, rtpParameters, source);
  }

  /** A broadcaster's producer on one of its transports: known, spread, announced, piped to relays. */
  async #produceOn(peer: Peer, t: types.WebRtcTransport | types.PlainTransport, kind: types.MediaKind, rtpParameters: types.RtpParameters, source: string): Promise<string> {
    // Key frame requests (a viewer resuming, a layer switch) reach the broadcaster at most once per
    // KEYFRAME_REQUEST_DELAY_MS: mediasoup holds the rest back, so a join storm is not a key frame storm.
    const producer = await mediaCall("RTP parameters", () => t.produce({ kind, rtpParameters, appData: { source }, keyFrameRequestDelay: KEYFRAME_REQUEST_DELAY_MS }));
    if (peer.closed) {
      producer.close(); // the peer left while it was made: never announced
      throw new AppError("CONFLICT", "Left the stream while producing");
    }
    peer.addProducer(producer);
    await this.#register(producer, source);
    if (!this.#relay) this.#wentLive = true;
    await this.#pipesOut.add(producer.id, source, (node, p) => this.#hooks.onPiped?.(node, p));
    return producer.id;
  }

  /** An encoder publishing over RTMP or SRT: a broadcaster peer whose media comes as plain RTP
   *  from a local ffmpeg. */
  joinIngest(peerId: string, who: PeerOwner): void {
    this.#assertOpen();
    if (this.#relay) throw new AppError("CONFLICT", "This media node relays the stream: publish to its origin node");
    if (this.#peers.has(peerId)) this.leave(peerId);
    this.#peers.set(peerId, new Peer(peerId, who, "broadcaster", this.#routers.origin(), false));
  }

  /** One plain RTP leg of an ingest peer (comedia: it learns the sender's address from the first
   *  packet, on 127.0.0.1 only); answers where to send RTP and RTCP. */
  async ingestLeg(peerId: string): Promise<{ transportId: string; port: number; rtcpPort: number }> {
    const peer = this.#peer(peerId);
    if (peer.role !== "broadcaster") throw new AppError("FORBIDDEN", "Only the broadcaster produces");
    const left = () => peer.closed; // read again after the await
    const t = await this.#routers.origin().router.createPlainTransport({ listenInfo: { protocol: "udp", ip: "127.0.0.1" }, rtcpMux: false, comedia: true, appData: { peerId } });
    if (left()) {
      t.close();
      throw new AppError("CONFLICT", "Left the stream while joining");
    }
    peer.addPlain(t);
    return { transportId: t.id, port: t.tuple.localPort, rtcpPort: t.rtcpTuple?.localPort ?? 0 };
  }

  /** The producer of an ingest leg, once its codec is known; the stream goes live. */
  async produceOnLeg(peerId: string, transportId: string, kind: types.MediaKind, rtpParameters: types.RtpParameters, source: string): Promise<string> {
    const peer = this.#peer(peerId);
    const t = peer.plain.get(transportId);
    if (!t) throw new AppError("NOT_FOUND", "No such ingest leg");
    return this.#produceOn(peer, t, kind, rtpParameters, source);
  }

  /** A leg and its producer at once (the codec known up front). */
  async produceRtp(peerId: string, kind: types.MediaKind, rtpParameters: types.RtpParameters, source: string): Promise<{ port: number; rtcpPort: number; producerId: string }> {
    const leg = await this.ingestLeg(peerId);
    return { port: leg.port, rtcpPort: leg.rtcpPort, producerId: await this.produceOnLeg(peerId, leg.transportId, kind, rtpParameters, source) };
  }

  /** Origin side: a relay node's pipe end; answers ours and every producer, piped. */
  async pipeOut(relayNode: string, remote: PipeEnd): Promise<PipeEnd & { producers: PipedProducer[] }> {
    this.#assertOpen();
    if (this.#relay) throw new AppError("CONFLICT", "Not the origin of this stream");
    return this.#pipesOut.open(relayNode, this.#routers.origin().router, remote, [...this.producers].map(([id, p]) => [id, p.source]));
  }

  /** Relay side: producers arriving through the pipe from the origin (same ids). */
  async addPiped(list: PipedProducer[]): Promise<void> {
    const relay = this.#relay;
    if (!relay) throw new AppError("CONFLICT", "Not a relay of this stream");
    for (const p of list) {
      if (this.producers.has(p.id)) continue;
      const producer = await relay.transport.produce({ id: p.id, kind: p.kind, rtpParameters: p.rtpParameters, paused: p.paused, appData: { source: p.source } });
      await this.#register(producer, p.source);
    }
  }

  /** Relay side: the origin closed a producer. */
  closePiped(producerId: string): void {
    if (this.#relay) this.producers.get(producerId)?.producer.close();
  }

  /** A producer of this stream: known, spread to this node's other routers, announced. */
  async #register(producer: types.Producer, source: string): Promise<void> {
    this.producers.set(producer.id, { producer, source });
    producer.observer.once("close", () => {
      this.producers.delete(producer.id);
      if (!this.#closed) this.#hooks.onNotice({ t: "media.producer.closed", d: { streamId: this.id, producerId: producer.id } });
    });
    await this.#routers.spread(producer.id);
    this.#hooks.onNotice({ t: "media.producer", d: { streamId: this.id, producerId: producer.id, kind: producer.kind, source } });
  }

  /** Consumers (created paused) for every producer this viewer does not consume yet. */
  async consume(peerId: string, transportId: string, rtpCapabilities: types.RtpCapabilities): Promise<ConsumerInfo[]> {
    const peer = this.#peer(peerId);
    const t = this.#transport(peerId, transportId);
    checkCapabilities(rtpCapabilities); // now, not only once a producer exists
    const have = new Set([...peer.consumers.values()].map((c) => c.producerId));
    const out: ConsumerInfo[] = [];
    for (const producerId of this.producers.keys()) {
      if (have.has(producerId)) continue;
      if (!peer.host.router.canConsume({ producerId, rtpCapabilities })) {
        throw new AppError("BAD_REQUEST", "Your RTP capabilities cannot receive this stream's codecs", { producerId });
      }
      const c = await mediaCall("RTP capabilities", () => t.consume({ producerId, rtpCapabilities, paused: true, appData: { peerId } }));
      peer.track(c);
      out.push({ id: c.id, producerId, kind: c.kind, rtpParameters: c.rtpParameters });
    }
    return out;
  }

  /** The client has set up its side: start sending, with a keyframe right away for video. */
  async resume(peerId: string, consumerId: string): Promise<void> {
    const c = this.#consumer(peerId, consumerId);
    await c.resume();
    if (c.kind === "video") await c.requestKeyFrame();
  }

  /** A manual quality (pins a spatial layer) or "auto" (the highest; bandwidth estimation lowers it). */
  async setQuality(peerId: string, consumerId: string, quality: Quality): Promise<void> {
    const c = this.#consumer(peerId, consumerId);
    if (c.kind !== "video") throw new AppError("BAD_REQUEST", "Quality applies to video consumers");
    const pinned = spatialLayerOf(quality);
    await c.setPreferredLayers({ spatialLayer: pinned ?? 2, temporalLayer: 2 });
  }

  /** A router of its own on a worker of this node, for a peer whose codecs differ from the
   *  stream's (a WHEP player): join() with it as `own`; it closes with that peer. */
  async ownHost(mediaCodecs: types.RouterRtpCodecCapability[], peerId: string): Promise<Hosted> {
    this.#assertOpen();
    return this.#routers.own(mediaCodecs, peerId);
  }

  /** Pipes the stream's producer of this kind to a peer's own router; its id there, or undefined
   *  when the stream has no such producer. */
  async pipeKindTo(kind: types.MediaKind, host: Hosted): Promise<string | undefined> {
    const source = [...this.producers.values()].find((p) => p.producer.kind === kind)?.producer.id;
    if (source === undefined) return undefined;
    const { pipeProducer } = await this.#routers.origin().router.pipeToRouter({ producerId: source, router: host.router, keepId: false });
    return pipeProducer?.id ?? source;
  }

  /** An HTTP session (WHIP/WHEP) has no socket whose close ends it: it is dropped when its ICE
   *  or DTLS is lost, or when it does not connect within sessionConnectTimeoutMs. */
  watchSession(peerId: string, transportId: string): void {
    const peer = this.#peers.get(peerId);
    const transport = peer?.transports.get(transportId);
    if (!peer || !transport) return;
    if (peer.role !== "broadcaster") this.#watchConnection(peer, transport); // join() watches broadcasters
    this.#expectConnected(peerId, transportId);
  }

  leave(peerId: string): boolean {
    const peer = this.#peers.get(peerId);
    if (!peer) return false;
    this.#peers.delete(peerId);
    peer.close();
    return true;
  }

  broadcasterPresent(): boolean {
    for (const p of this.#peers.values()) if (p.role === "broadcaster") return true;
    return false;
  }

  close(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    // Peers give their consumers' load back (WHEP players' own routers included), then the
    // stream's routers close: nothing is counted twice or left on a worker.
    for (const p of this.#peers.values()) p.close();
    this.#peers.clear();
    this.#routers.closeAll();
    this.#hooks.onNotice({ t: "media.closed", d: { streamId: this.id, reason, reconnect: reason !== "ended" } });
    this.#hooks.onClosed(reason, this);
  }

  #assertOpen(): void {
    if (this.#closed) throw new AppError("CONFLICT", "The stream is no longer live here");
  }

  #peer(peerId: string): Peer {
    this.#assertOpen();
    const p = this.#peers.get(peerId);
    if (!p) throw new AppError("BAD_REQUEST", "Join the stream first (media.join)");
    return p;
  }

  #transport(peerId: string, transportId: string): types.WebRtcTransport {
    const t = this.#peer(peerId).transports.get(transportId);
    if (!t) throw new AppError("NOT_FOUND", "No such transport on this connection");
    return t;
  }

  #consumer(peerId: string, consumerId: string): types.Consumer {
    const c = this.#peer(peerId).consumers.get(consumerId);
    if (!c) throw new AppError("NOT_FOUND", "No such consumer on this connection");
    return c;
  }
}

export function checkCapabilities(caps: unknown): void {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const codecs = isObj(caps) ? caps.codecs : undefined;
  const ok = Array.isArray(codecs) && codecs.every((c) => isObj(c) && typeof c.mimeType === "string" && typeof c.clockRate === "number");
  if (!ok) throw new AppError("BAD_REQUEST", "Invalid RTP capabilities: `codecs` must be a list of {mimeType, clockRate, ...}");
}

/** mediasoup rejects bad parameters with TypeError/Error: that is the caller's input, not our bug. */
export async function mediaCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new AppError("BAD_REQUEST", `Invalid ${what}: ${message.slice(0, 300)}`);
  }
}
