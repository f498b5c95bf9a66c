/**
 * The live streams hosted by this media node, over its worker pool. Owns each LiveStream's
 * life: opened on the first join, closed when the broadcaster ends it, when the broadcaster
 * stays away longer than `broadcasterGraceMs`, or when its worker dies (clients are told to
 * reconnect and the stream reopens on the next join, on a fresh worker). Owns live HLS and
 * recording of its origin streams (live-packaging.ts).
 */
import type { BlobStore } from "../../blobs/index.js";
import type { ServiceBroker } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError } from "../../lib/errors.js";
import { LiveStream, type PeerOwner } from "../../media/live-stream.js";
import type { CloseReason, MediaOut, StreamNotice } from "../../protocol/media.js";
import type { PipedProducer, PipeEnd } from "../../media/node-pipes.js";
import type { WorkerPool } from "../../media/worker-pool.js";
import { LivePackaging } from "./live-packaging.js";

/** What relay nodes hear from an origin node (event `media.origin`, to the media group). */
export type OriginNews = { streamId: string; producerClosed: string } | { streamId: string; closed: CloseReason };

/** What the streams actor hears from each media node (event `media.load`): for viewer placement,
 *  and the live streams this node vouches for (a broadcaster here, or its grace period running):
 *  the catalog ends a `live` stream no media node vouches for (node lost or restarted). */
export interface MediaLoad {
  viewers: number;
  capacity: number;
  live: string[];
  /** Viewers per stream on this node (origin or relay): the catalog sums them for the cards. */
  audience?: Record<string, number>;
}

export class MediaNode {
  readonly #cfg: AppConfig["media"];
  readonly #pool: WorkerPool;
  readonly #broker: ServiceBroker;
  readonly #streams = new Map<string, LiveStream>();
  readonly #opening = new Map<string, Promise<LiveStream>>();
  readonly #grace = new Map<string, NodeJS.Timeout>();
  readonly #packaging: LivePackaging;
  readonly #capacity: number;
  readonly #loadTimer: NodeJS.Timeout;
  readonly #watchdog: NodeJS.Timeout;
  /** Per stream and broadcaster peer: bytes received at the last check, and since when unchanged. */
  readonly #media = new Map<string, Map<string, { bytes: number; since: number }>>();
  /** WHEP sessions being opened, by peer id. */
  readonly #whepPending = new Map<string, PeerOwner>();
  #lastLoad = "";
  #loadTicks = 0;

  constructor(cfg: AppConfig["media"], pool: WorkerPool, broker: ServiceBroker, dataDir: string, blobs: BlobStore, blobCfg: AppConfig["blobs"]) {
    this.#cfg = cfg;
    this.#packaging = new LivePackaging(cfg, broker, dataDir, blobs, blobCfg);
    this.#pool = pool;
    this.#broker = broker;
    // A viewer holds about two consumers (video + audio).
    this.#capacity = cfg.maxViewersPerNode || Math.floor((pool.slots.length * cfg.maxConsumersPerRouter) / 2);
    this.#loadTimer = setInterval(() => this.#reportLoad(), 500);
    this.#loadTimer.unref();
    let checking = false;
    this.#watchdog = setInterval(() => {
      if (checking) return; // a slow round (many streams, a busy worker) is not stacked
      checking = true;
      void this.#checkMedia().finally(() => (checking = false));
    }, Math.min(2000, cfg.mediaTimeoutMs / 2));
    this.#watchdog.unref();
  }

  get pool(): WorkerPool {
    return this.#pool;
  }

  /** The stream if it is open here (for every call after join). */
  get(streamId: string): LiveStream {
    const s = this.#streams.get(streamId);
    if (!s) throw new AppError("CONFLICT", "The stream is not live on this media node: join again", { reconnect: true });
    return s;
  }

  /** The stream, opened here if needed (join). */
  async open(streamId: string): Promise<LiveStream> {
    return this.#openOnce(streamId, () => LiveStream.open(streamId, this.#pool, this.#cfg, this.#hooks(streamId)));
  }

  /** The stream relayed here from its origin node, opened through a PipeTransport if needed. */
  async openRelay(streamId: string, origin: string): Promise<LiveStream> {
    return this.#openOnce(streamId, async () => {
      const handshake = (local: PipeEnd) =>
        this.#broker.call<PipeEnd & { producers: PipedProducer[] }, Record<string, unknown>>("media.pipeOut", { streamId, relayNode: this.#broker.nodeID, ...local }, { nodeID: origin });
      const relayed = await LiveStream.openRelay(streamId, this.#pool, this.#cfg, this.#hooks(streamId), origin, handshake);
      this.#broker.logger.info(`media: stream ${streamId} relayed from ${origin} through a PipeTransport`);
      return relayed;
    });
  }

  /** The stream if open, else opened once however many joins ask at the same time. */
  async #openOnce(streamId: string, make: () => Promise<LiveStream>): Promise<LiveStream> {
    const s = this.#streams.get(streamId);
    if (s) return s;
    let p = this.#opening.get(streamId);
    if (!p) {
      p = make();
      this.#opening.set(streamId, p);
    }
    try {
      const opened = await p;
      this.#streams.set(streamId, opened);
      return opened;
    } finally {
      this.#opening.delete(streamId);
    }
  }

  /** News from an origin node about a stream relayed here. */
  onOrigin(from: string, news: OriginNews): void {
    const s = this.#streams.get(news.streamId);
    if (s?.origin !== from) return;
    if ("producerClosed" in news) s.closePiped(news.producerClosed);
    else s.close(news.closed);
  }

  /** A node left the cluster: streams relayed from it lose their source. */
  onNodeGone(nodeID: string): void {
    for (const s of [...this.#streams.values()]) if (s.origin === nodeID) s.close("origin-lost");
  }

  /** A broadcaster is (back) on: no grace timer runs. */
  broadcasterJoined(streamId: string): void {
    clearTimeout(this.#grace.get(streamId));
    this.#grace.delete(streamId);
  }

  /** A peer left; when it was the last broadcaster of a stream that went live, the stream ends
   *  after the grace period. Viewers waiting for a scheduled stream never start it: they leave
   *  and come back as they like, and the owner can still go live. */
  left(streamId: string): void {
    const s = this.#streams.get(streamId);
    // A relay never ends the stream: only its origin knows the broadcaster.
    if (!s || s.origin !== undefined || !s.wentLive || s.broadcasterPresent() || this.#grace.has(streamId)) return;
    const t = setTimeout(() => {
      this.#grace.delete(streamId);
      if (!s.broadcasterPresent()) void this.end(streamId, "broadcaster gone");
    }, this.#cfg.broadcasterGraceMs);
    t.unref();
    this.#grace.set(streamId, t);
  }

  /** Ends a stream for good: catalog status `ended`, media closed, clients told. */
  async end(streamId: string, why: string): Promise<void> {
    this.#broker.logger.info(`media: stream ${streamId} ends (${why})`);
    const s = this.#streams.get(streamId);
    try {
      await this.#broker.call("streams.setStatus", { id: streamId, status: "ended" });
    } catch (err) {
      this.#broker.logger.warn(`media: could not mark ${streamId} ended: ${String(err)}`);
    }
    if (s) this.#packaging.ended(s); // finished and submitted in the background
    s?.close("ended"); // viewers are told now
  }

  /** Reserves a WHEP session for this user and address, within the caps: sessions open here
   *  and sessions being opened count, so pipelined requests cannot all pass. Call the answer once
   *  the session is open (it is then a peer) or failed. */
  reserveWhep(peerId: string, who: PeerOwner): () => void {
    const n = { user: 0, ip: 0 };
    const count = (id: string, o: PeerOwner) => {
      if (o.userId === who.userId) n.user++;
      if (who.ip !== "" && o.ip === who.ip) n.ip++;
      return id;
    };
    const open = new Set<string>();
    for (const s of this.#streams.values()) for (const p of s.peers()) if (p.ownRouter) open.add(count(p.id, p));
    for (const [id, o] of this.#whepPending) if (!open.has(id)) count(id, o);
    if (n.user >= this.#cfg.whepPerUser) throw new AppError("RATE_LIMITED", `At most ${this.#cfg.whepPerUser} WHEP sessions per user: DELETE one first`, { retryAfterSec: 10 });
    if (n.ip >= this.#cfg.whepPerIp) throw new AppError("RATE_LIMITED", `At most ${this.#cfg.whepPerIp} WHEP sessions per address`, { retryAfterSec: 10 });
    this.#whepPending.set(peerId, who);
    return () => this.#whepPending.delete(peerId);
  }

  /** Key-based sessions (WHIP with a stream key: sid `ingest:<stream>`) of this user end: the
   *  owner was revoked. */
  closeIngestOf(userId: string): number {
    const sids = new Set<string>();
    for (const s of this.#streams.values()) for (const p of s.peers()) if (p.userId === userId && p.sid.startsWith("ingest:")) sids.add(p.sid);
    return this.closeSessions(sids);
  }

  /** Every media session (WebSocket, WHIP, WHEP) of these login sessions ends: they were revoked
   *  (logout, logout everywhere, a role change, an admin's revoke). */
  closeSessions(sids: ReadonlySet<string>): number {
    let n = 0;
    for (const s of [...this.#streams.values()]) {
      for (const p of [...s.peers()]) {
        if (!sids.has(p.sid)) continue;
        s.leave(p.id);
        n++;
        if (p.role === "broadcaster") this.left(s.id);
      }
    }
    return n;
  }

  /** The media watchdog: a broadcaster whose producers received nothing for mediaTimeoutMs has
   *  gone (a frozen or crashed encoder keeps no socket open that would tell us). */
  async #checkMedia(): Promise<void> {
    const now = Date.now();
    for (const s of [...this.#streams.values()]) {
      if (s.origin !== undefined || s.closed) continue;
      const seen = this.#media.get(s.id) ?? new Map<string, { bytes: number; since: number }>();
      this.#media.set(s.id, seen);
      const bytes = await s.broadcasterBytes();
      for (const peerId of seen.keys()) if (!bytes.has(peerId)) seen.delete(peerId);
      for (const [peerId, b] of bytes) {
        const last = seen.get(peerId);
        if (!last || b > last.bytes) seen.set(peerId, { bytes: b, since: now });
        else if (now - last.since >= this.#cfg.mediaTimeoutMs) {
          seen.delete(peerId);
          s.dropSilent(peerId, `no media for ${Math.round((now - last.since) / 1000)} s`);
        }
      }
    }
    for (const id of this.#media.keys()) if (!this.#streams.has(id)) this.#media.delete(id);
  }

  closeAll(): void {
    clearInterval(this.#loadTimer);
    clearInterval(this.#watchdog);
    this.#packaging.closeAll();
    for (const t of this.#grace.values()) clearTimeout(t);
    for (const s of [...this.#streams.values()]) s.close("node-stopping");
  }

  /** The streams open here now (metrics). */
  liveStreams(): LiveStream[] {
    return [...this.#streams.values()];
  }

  /** Whether a broadcaster (browser, WHIP or encoder) is publishing this stream here now. */
  broadcasting(streamId: string): boolean {
    return this.#streams.get(streamId)?.broadcasterPresent() ?? false;
  }

  /** Live HLS key n of a stream packaged here, while recent. */
  liveKey(streamId: string, n: number): Buffer | undefined {
    return this.#packaging.key(streamId, n);
  }

  stats(): { streams: { id: string; viewers: number; producers: number; hosts: { slot: number; consumers: number }[] }[] } {
    return { streams: [...this.#streams.values()].map((s) => ({ id: s.id, viewers: s.viewers, producers: s.producers.size, hosts: s.hosts() })) };
  }

  #hooks(streamId: string) {
    return {
      onNotice: (notice: StreamNotice) => this.#onNotice(streamId, notice),
      onClosed: (reason: CloseReason, s: LiveStream) => this.#onClosed(s, reason),
      onPiped: (relayNode: string, p: PipedProducer) => {
        this.#broker.call("media.pipeIn", { streamId, producers: [p] }, { nodeID: relayNode }).catch((err: unknown) => this.#broker.logger.warn(`media: piping ${p.id} to ${relayNode} failed: ${String(err)}`));
      },
      onPeersLost: (peerIds: string[], reason: CloseReason) => {
        this.#broker.logger.warn(`media: ${String(peerIds.length)} viewer(s) of stream ${streamId} lost their router (${reason}): told to join again`);
        this.#publish({ streamId, notice: { t: "media.closed", d: { streamId, reason, reconnect: true } }, peers: peerIds });
      },
      onPeerLost: (peerId: string, role: string, why: string) => {
        this.#broker.logger.info(`media: ${role} ${peerId} of stream ${streamId} is gone (${why})`);
        if (role === "broadcaster") this.left(streamId);
      },
    };
  }

  #onNotice(streamId: string, notice: StreamNotice): void {
    this.#publish({ streamId, notice });
    const s = this.#streams.get(streamId);
    if (notice.t === "media.producer" && s) this.#packaging.producerAdded(s);
    if (s?.origin !== undefined) return; // only an origin has relays to tell
    const news: OriginNews | undefined =
      notice.t === "media.producer.closed" ? { streamId, producerClosed: notice.d.producerId } : notice.t === "media.closed" ? { streamId, closed: notice.d.reason } : undefined;
    if (news) this.#broker.broadcast("media.origin", news, { groups: ["media"] }).catch(() => undefined);
  }

  #reportLoad(): void {
    let viewers = 0;
    const live: string[] = [];
    const audience: Record<string, number> = {};
    for (const s of this.#streams.values()) {
      viewers += s.viewers;
      audience[s.id] = (audience[s.id] ?? 0) + s.viewers;
      if (s.origin === undefined && (s.broadcasterPresent() || this.#grace.has(s.id))) live.push(s.id);
    }
    const sig = `${viewers}|${live.join(",")}|${JSON.stringify(audience)}`;
    if (sig === this.#lastLoad && ++this.#loadTicks % 4 !== 0) return; // on change, else every 2 s
    this.#lastLoad = sig;
    const load: MediaLoad = { viewers, capacity: this.#capacity, live, audience };
    this.#broker.broadcast("media.load", load, { groups: ["streams"] }).catch(() => undefined);
  }

  #onClosed(s: LiveStream, reason: CloseReason): void {
    const streamId = s.id;
    if (this.#streams.get(streamId) === s) this.#streams.delete(streamId);
    this.#packaging.closed(s);
    clearTimeout(this.#grace.get(streamId));
    this.#grace.delete(streamId);
    if (reason === "worker-died") this.#broker.logger.warn(`media: stream ${streamId} lost its worker; clients told to reconnect`);
  }

  #publish(out: MediaOut): void {
    this.#broker.broadcast("media.out", out, { groups: ["gateway"] }).catch((err: unknown) => this.#broker.logger.warn(`media: notice failed: ${String(err)}`));
  }
}
