/**
 * One live stream on this media node: an origin router (where the broadcaster's producers
 * live) plus, as viewers pass `maxConsumersPerRouter`, routers on other workers fed with
 * `pipeToRouter`. Peers (one per client connection or WHIP/WHEP session) own their transports,
 * and through them their producers and consumers.
 *
 * Close cascade: close() -> routers closed -> transports, producers, consumers closed by
 * mediasoup; the stream tells its clients once (`onNotice`) and its owner once (`onClosed`).
 * A worker dying closes its routers; if the origin goes, the whole stream closes with reason
 * "worker-died" and clients are told to reconnect.
 */
import type { types } from "mediasoup";
import type { CloseReason, StreamNotice } from "../protocol/media.js";
import type { ConsumerInfo, TransportInfo } from "./transport-info.js";
import type { AppConfig } from "../lib/config.js";
import { AppError } from "../lib/errors.js";
import { MEDIA_CODECS, spatialLayerOf, type Quality } from "./codecs.js";
import type { WorkerPool, WorkerSlot } from "./worker-pool.js";
import { Peer, type Hosted, type PeerOwner, type PeerRole } from "./peer.js";
import { codecsForPlayer, planWhip, playerCapabilities, whepAnswer, type Offer } from "./sdp.js";
import { LiveHls } from "./live-hls.js";
import { connectPipe, createPipe, endOf, PipeOut, type PipedProducer, type PipeEnd } from "./node-pipes.js";

export type { PeerOwner, PeerRole } from "./peer.js";
/** At most one key frame request per this long reaches a broadcaster (per producer). */
export const KEYFRAME_REQUEST_DELAY_MS = 1000;
export interface LiveStreamHooks {
  onNotice(n: StreamNotice): void;
  onClosed(reason: CloseReason): void;
  /** Origin side: a new producer is on the pipe to this relay node; tell that node. */
  onPiped?(relayNode: string, p: PipedProducer): void;
  /** A peer was dropped by the stream itself (ICE/DTLS lost, never connected); it has left. */
  onPeerLost?(peerId: string, role: PeerRole, why: string): void;
}

/** Relay side: asks the origin node for a pipe to our end; answers its end and the producers. */
export type PipeHandshake = (local: PipeEnd) => Promise<PipeEnd & { producers: PipedProducer[] }>;

export class LiveStream {
  readonly id: string;
  readonly #pool: WorkerPool;
  readonly #cfg: AppConfig["media"];
  readonly #hooks: LiveStreamHooks;
  readonly #hosts: Hosted[] = [];
  readonly #peers = new Map<string, Peer>();
  /** Producers on the origin router, with their source ("camera" | "screen" | "mic"). */
  readonly producers = new Map<string, { producer: types.Producer; source: string }>();
  /** Origin side: pipes to relay nodes, by node id. */
  readonly #pipesOut = new Map<string, PipeOut>();
  /** Relay side: the origin node's id and the pipe from it. */
  #relay: { origin: string; transport: types.PipeTransport } | undefined;
  #hls: LiveHls | undefined;
  #closed = false;
  #wentLive = false;

  private constructor(id: string, pool: WorkerPool, cfg: AppConfig["media"], hooks: LiveStreamHooks) {
    this.id = id;
    this.#pool = pool;
    this.#cfg = cfg;
    this.#hooks = hooks;
  }

  static async open(id: string, pool: WorkerPool, cfg: AppConfig["media"], hooks: LiveStreamHooks): Promise<LiveStream> {
    const s = new LiveStream(id, pool, cfg, hooks);
    await s.#addHost(pool.pick());
    return s;
  }

  /** Relay node: media produced here come from this origin node. */
  static async openRelay(id: string, pool: WorkerPool, cfg: AppConfig["media"], hooks: LiveStreamHooks, origin: string, handshake: PipeHandshake): Promise<LiveStream> {
    const s = new LiveStream(id, pool, cfg, hooks);
    const host = await s.#addHost(pool.pick());
    const transport = await createPipe(host.router, cfg, { streamId: id, origin });
    s.#relay = { origin, transport };
    try {
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

  get rtpCapabilities(): types.RtpCapabilities {
    return this.#origin().router.rtpCapabilities;
  }

  get viewers(): number {
    let n = 0;
    for (const p of this.#peers.values()) if (p.role === "viewer") n++;
    return n;
  }

  /** Routers in use, for placement tests and stats: worker slot and consumer count of each. */
  hosts(): { slot: number; consumers: number }[] {
    return this.#hosts.map((h) => ({ slot: h.slot.index, consumers: h.consumers }));
  }

  peer(id: string): Peer | undefined {
    return this.#peers.get(id);
  }

  /** Adds a peer with one WebRTC transport (send for the broadcaster, receive for viewers). */
  async join(peerId: string, who: PeerOwner, role: PeerRole, own?: Hosted): Promise<TransportInfo> {
    this.#assertOpen();
    if (role === "broadcaster" && this.#relay) throw new AppError("CONFLICT", "This media node relays the stream: broadcast to its origin node", { reconnect: true });
    if (this.#peers.has(peerId)) this.leave(peerId);
    const host = own ?? (role === "broadcaster" ? this.#origin() : await this.#hostForViewer());
    const peer = new Peer(peerId, who, role, host, own !== undefined);
    this.#peers.set(peerId, peer);
    const t = await host.router.createWebRtcTransport({
      webRtcServer: host.slot.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: this.#cfg.initialOutgoingBitrate,
      appData: { peerId },
    });
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

  /** Drops a peer the stream found gone, once, and tells the owner. */
  #lose(peer: Peer, why: string): void {
    if (this.#closed || this.#peers.get(peer.id) !== peer) return;
    this.leave(peer.id);
    this.#hooks.onPeerLost?.(peer.id, peer.role, why);
  }

  /** WHIP/WHEP: an HTTP session has no socket whose close ends it; one that never connects is dropped. */
  #expectConnected(peerId: string, t: TransportInfo): void {
    const peer = this.#peers.get(peerId);
    const transport = peer?.transports.get(t.id);
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
      let bytes = 0;
      let known = true;
      for (const p of [...peer.producers.values()]) {
        const stats = await p.getStats().catch(() => undefined);
        if (!stats) known = false; // a worker that does not answer says nothing about the broadcaster
        for (const st of stats ?? []) bytes += st.byteCount;
      }
      if (known) out.set(peer.id, bytes);
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
    const t = this.#transport(peerId, transportId);
    // Key frame requests (a viewer resuming, a layer switch) reach the broadcaster at most once per
    // KEYFRAME_REQUEST_DELAY_MS: mediasoup holds the rest back, so a join storm is not a key frame storm.
    const producer = await mediaCall("RTP parameters", () => t.produce({ kind, rtpParameters, appData: { source }, keyFrameRequestDelay: KEYFRAME_REQUEST_DELAY_MS }));
    peer.addProducer(producer);
    await this.#register(producer, source);
    if (!this.#relay) this.#wentLive = true;
    for (const [node, out] of this.#pipesOut) this.#hooks.onPiped?.(node, await out.add(producer.id, source));
    return producer.id;
  }

  /** Origin side: a relay node's pipe end; answers ours and every producer, piped. */
  async pipeOut(relayNode: string, remote: PipeEnd): Promise<PipeEnd & { producers: PipedProducer[] }> {
    this.#assertOpen();
    if (this.#relay) throw new AppError("CONFLICT", "Not the origin of this stream");
    this.#pipesOut.get(relayNode)?.close();
    const out = new PipeOut(await createPipe(this.#origin().router, this.#cfg, { streamId: this.id, relayNode }));
    this.#pipesOut.set(relayNode, out);
    out.transport.observer.once("close", () => {
      if (this.#pipesOut.get(relayNode) === out) this.#pipesOut.delete(relayNode);
    });
    await connectPipe(out.transport, remote);
    const producers: PipedProducer[] = [];
    for (const [id, p] of this.producers) producers.push(await out.add(id, p.source));
    return { ...endOf(out.transport), producers };
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
    for (const h of this.#hosts.slice(1)) await this.#pipe(producer.id, h);
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

  /** WHIP: an encoder's offer -> transport, producers; returns the SDP answer. */
  async whip(peerId: string, who: PeerOwner, offer: Offer): Promise<string> {
    const t = await this.join(peerId, who, "broadcaster");
    try {
      const plan = planWhip(offer, this.rtpCapabilities, t);
      await this.connect(peerId, t.id, offer.dtls);
      for (const p of plan.produce) await this.produce(peerId, t.id, p.kind, p.rtpParameters, "whip");
      this.#expectConnected(peerId, t);
      return plan.answer;
    } catch (err) {
      this.leave(peerId);
      throw err;
    }
  }

  /** WHEP: a player's offer -> transport, one running consumer per offered section; returns the answer. */
  async whep(peerId: string, who: PeerOwner, offer: Offer): Promise<string> {
    const caps = playerCapabilities(offer);
    checkCapabilities(caps);
    let mediaCodecs;
    try {
      mediaCodecs = codecsForPlayer(caps, this.rtpCapabilities);
    } catch (err) {
      throw new AppError("BAD_REQUEST", `No codec in common with the player: ${err instanceof Error ? err.message : String(err)}`);
    }
    const slot = this.#pool.pick();
    const router = await slot.worker.createRouter({ mediaCodecs, appData: { streamId: this.id, peerId } });
    slot.routers++;
    router.observer.once("close", () => slot.routers--);
    const own: Hosted = { router, slot, consumers: 0 };
    const t = await this.join(peerId, who, "viewer", own).catch((err: unknown) => {
      router.close();
      throw err;
    });
    try {
      await this.connect(peerId, t.id, offer.dtls);
      const peer = this.#peer(peerId);
      const transport = this.#transport(peerId, t.id);
      const byMid = new Map<string, types.RtpParameters>();
      for (const m of offer.media) {
        const source = [...this.producers.values()].find((p) => p.producer.kind === m.type)?.producer.id;
        if (source === undefined) continue;
        const { pipeProducer } = await this.#origin().router.pipeToRouter({ producerId: source, router, keepId: false });
        const producerId = pipeProducer?.id ?? source;
        if (!router.canConsume({ producerId, rtpCapabilities: caps })) throw new AppError("BAD_REQUEST", `The player cannot decode this stream's ${m.type} codec`);
        const c = await mediaCall("RTP capabilities", () => transport.consume({ producerId, rtpCapabilities: caps, paused: false, mid: String(m.mid), enableRtx: false, appData: { peerId } }));
        peer.track(c);
        byMid.set(String(m.mid), c.rtpParameters);
      }
      const answer = whepAnswer(offer, t, byMid);
      for (const c of peer.consumers.values()) if (c.kind === "video") c.requestKeyFrame().catch(() => undefined);
      this.#expectConnected(peerId, t);
      this.#watchConnection(peer, transport);
      return answer;
    } catch (err) {
      this.leave(peerId);
      throw err;
    }
  }

  /** (Re)starts live HLS packaging of the current producers (needs video); origin only. */
  async restartHls(outDir: string, keyUri: (n: number) => string, onExit: (why: string) => void, recording?: string): Promise<boolean> {
    this.#hls?.close();
    this.#hls = undefined;
    const producers = [...this.producers.values()].map((p) => p.producer);
    const video = producers.find((p) => p.kind === "video");
    if (this.#closed || this.#relay || !video) return false;
    const audio = producers.find((p) => p.kind === "audio");
    this.#hls = await LiveHls.start(this.#origin().router, audio ? [video, audio] : [video], outDir, keyUri, onExit, recording);
    if (this.closed) this.#hls.close(); // closed while ffmpeg was starting
    return true;
  }

  /** Hands live HLS over to the caller (to be finished gracefully: the recording), so that
   *  closing the stream does not kill its ffmpeg. */
  detachHls(): LiveHls | undefined {
    const h = this.#hls;
    this.#hls = undefined;
    return h;
  }

  /** Live HLS key n, while recent. */
  liveKey(n: number): Buffer | undefined {
    return this.#hls?.key(n);
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
    this.#hls?.close();
    // Peers give their consumers' load back (WHEP players' own routers included), then the
    // stream's routers close: nothing is counted twice or left on a worker.
    for (const p of this.#peers.values()) p.close();
    this.#peers.clear();
    for (const h of this.#hosts) {
      h.router.close();
      h.slot.routers--;
    }
    this.#hooks.onNotice({ t: "media.closed", d: { streamId: this.id, reason, reconnect: reason !== "ended" } });
    this.#hooks.onClosed(reason);
  }

  async #hostForViewer(): Promise<Hosted> {
    const open = this.#hosts.find((h) => h.consumers < this.#cfg.maxConsumersPerRouter);
    if (open) return open;
    const used = new Set(this.#hosts.map((h) => h.slot.index));
    const slot = this.#pool.pick(used);
    if (used.has(slot.index)) return this.#hosts.reduce((a, b) => (b.consumers < a.consumers ? b : a)); // every worker already serves this stream
    const h = await this.#addHost(slot);
    for (const producerId of this.producers.keys()) await this.#pipe(producerId, h);
    return h;
  }

  async #addHost(slot: WorkerSlot): Promise<Hosted> {
    const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { streamId: this.id } });
    const h: Hosted = { router, slot, consumers: 0 };
    slot.routers++;
    this.#hosts.push(h);
    router.observer.once("close", () => {
      if (!this.#closed && router.closed && slot.worker.closed) this.close("worker-died");
    });
    return h;
  }

  /** Pipes a producer to another router of this node (keeps its id: different workers). */
  async #pipe(producerId: string, to: Hosted): Promise<void> {
    await this.#origin().router.pipeToRouter({ producerId, router: to.router });
  }

  #origin(): Hosted {
    const h = this.#hosts[0];
    if (!h) throw new AppError("INTERNAL", "Stream has no router");
    return h;
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

function checkCapabilities(caps: unknown): void {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const codecs = isObj(caps) ? caps.codecs : undefined;
  const ok = Array.isArray(codecs) && codecs.every((c) => isObj(c) && typeof c.mimeType === "string" && typeof c.clockRate === "number");
  if (!ok) throw new AppError("BAD_REQUEST", "Invalid RTP capabilities: `codecs` must be a list of {mimeType, clockRate, ...}");
}

/** mediasoup rejects bad parameters with TypeError/Error: that is the caller's input, not our bug. */
async function mediaCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new AppError("BAD_REQUEST", `Invalid ${what}: ${message.slice(0, 300)}`);
  }
}
