/**
 * The live streams hosted by this media node, over its worker pool. Owns each LiveStream's
 * life: opened on the first join, closed when the broadcaster ends it, when the broadcaster
 * stays away longer than `broadcasterGraceMs`, or when its worker dies (clients are told to
 * reconnect and the stream reopens on the next join, on a fresh worker).
 */
import type { ServiceBroker } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError } from "../../lib/errors.js";
import { LiveStream, type CloseReason, type StreamNotice } from "../../media/live-stream.js";
import type { WorkerPool } from "../../media/worker-pool.js";

/** What the gateway receives (event `media.out`, to the gateway group) and publishes to the stream's topic. */
export interface MediaOut {
  streamId: string;
  notice: StreamNotice;
}

export class MediaNode {
  readonly #cfg: AppConfig["media"];
  readonly #pool: WorkerPool;
  readonly #broker: ServiceBroker;
  readonly #streams = new Map<string, LiveStream>();
  readonly #opening = new Map<string, Promise<LiveStream>>();
  readonly #grace = new Map<string, NodeJS.Timeout>();

  constructor(cfg: AppConfig["media"], pool: WorkerPool, broker: ServiceBroker) {
    this.#cfg = cfg;
    this.#pool = pool;
    this.#broker = broker;
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
    const s = this.#streams.get(streamId);
    if (s) return s;
    let p = this.#opening.get(streamId);
    if (!p) {
      p = LiveStream.open(streamId, this.#pool, this.#cfg, {
        onNotice: (notice) => this.#publish({ streamId, notice }),
        onClosed: (reason) => this.#onClosed(streamId, reason),
      });
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

  /** A broadcaster is (back) on: no grace timer runs. */
  broadcasterJoined(streamId: string): void {
    clearTimeout(this.#grace.get(streamId));
    this.#grace.delete(streamId);
  }

  /** A peer left; when it was the last broadcaster, the stream ends after the grace period. */
  left(streamId: string): void {
    const s = this.#streams.get(streamId);
    if (!s || s.broadcasterPresent() || this.#grace.has(streamId)) return;
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
    s?.close("ended");
  }

  closeAll(): void {
    for (const t of this.#grace.values()) clearTimeout(t);
    for (const s of [...this.#streams.values()]) s.close("node-stopping");
  }

  stats(): { streams: { id: string; viewers: number; producers: number; hosts: { slot: number; consumers: number }[] }[] } {
    return { streams: [...this.#streams.values()].map((s) => ({ id: s.id, viewers: s.viewers, producers: s.producers.size, hosts: s.hosts() })) };
  }

  #onClosed(streamId: string, reason: CloseReason): void {
    this.#streams.delete(streamId);
    clearTimeout(this.#grace.get(streamId));
    this.#grace.delete(streamId);
    if (reason === "worker-died") this.#broker.logger.warn(`media: stream ${streamId} lost its worker; clients told to reconnect`);
  }

  #publish(out: MediaOut): void {
    this.#broker.broadcast("media.out", out, { groups: ["gateway"] }).catch((err: unknown) => this.#broker.logger.warn(`media: notice failed: ${String(err)}`));
  }
}
