/**
 * Live HLS and recording of the streams whose origin is this media node: an ffmpeg per stream
 * (media/live-hls.ts) packages the producers as an encrypted HLS ladder below DATA_DIR/live/<id>
 * and records them; restarted when the producers settle (video and audio arrive apart); when the
 * stream ends, the recording is finished and becomes a VOD asset of the owner.
 *
 * Owned by MediaNode; a LiveStream knows nothing of it. Owner of: each stream's LiveHls (closed
 * when its stream closes, or finished gracefully when it ends) and its recording file.
 */
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { ServiceBroker } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { LiveHls } from "../../media/live-hls.js";
import type { LiveStream } from "../../media/live-stream.js";

const execFileAsync = promisify(execFile);
/** Producers arriving within this long of each other start one HLS session, not two. */
const SETTLE_MS = 1500;

export class LivePackaging {
  readonly #cfg: AppConfig["media"];
  readonly #broker: ServiceBroker;
  readonly #dataDir: string;
  readonly #hls = new Map<string, LiveHls>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** The recording of each live stream's current HLS session (below DATA_DIR). */
  readonly #recordings = new Map<string, string>();

  constructor(cfg: AppConfig["media"], broker: ServiceBroker, dataDir: string) {
    this.#cfg = cfg;
    this.#broker = broker;
    this.#dataDir = dataDir;
  }

  /** A producer appeared on an origin stream: (re)start packaging once the producers settle. */
  producerAdded(stream: LiveStream): void {
    if (!this.#cfg.liveHls || stream.origin !== undefined) return;
    clearTimeout(this.#timers.get(stream.id));
    const t = setTimeout(() => {
      this.#timers.delete(stream.id);
      void this.#restart(stream);
    }, SETTLE_MS);
    t.unref();
    this.#timers.set(stream.id, t);
  }

  /** Live HLS key n of a stream, while recent. */
  key(streamId: string, n: number): Buffer | undefined {
    return this.#hls.get(streamId)?.key(n);
  }

  /** The stream closed (any reason): its packaging stops now. */
  closed(streamId: string): void {
    clearTimeout(this.#timers.get(streamId));
    this.#timers.delete(streamId);
    this.#hls.get(streamId)?.close();
    this.#hls.delete(streamId);
  }

  /** The stream ended: ffmpeg finishes its files (the recording included) in the background,
   *  then the recording is submitted as VOD. Call before closing the stream. */
  ended(streamId: string): void {
    clearTimeout(this.#timers.get(streamId));
    this.#timers.delete(streamId);
    const hls = this.#hls.get(streamId);
    this.#hls.delete(streamId);
    void (async () => {
      await hls?.finish().catch(() => undefined);
      await this.#submitRecording(streamId);
    })();
  }

  closeAll(): void {
    for (const id of [...this.#timers.keys(), ...this.#hls.keys()]) this.closed(id);
  }

  async #restart(stream: LiveStream): Promise<void> {
    this.#hls.get(stream.id)?.close();
    this.#hls.delete(stream.id);
    const producers = [...stream.producers.values()].map((p) => p.producer);
    const video = producers.find((p) => p.kind === "video");
    const closed = () => stream.closed; // read again after the await below
    if (closed() || !video) return;
    const audio = producers.find((p) => p.kind === "audio");
    const outDir = path.join(this.#dataDir, "live", stream.id);
    const session = Date.now().toString(36); // new key URLs per restart: players never mix sessions
    const recording = path.join("uploads", `rec-${stream.id}-${session}.mkv`);
    mkdirSync(path.join(this.#dataDir, "uploads"), { recursive: true });
    if (this.#cfg.recordLive) this.#recordings.set(stream.id, recording);
    const keyUri = (n: number) => `/api/livekeys/${stream.id}/${session}-${n}`;
    const onExit = (why: string) => this.#broker.logger.warn(`media: live HLS of ${stream.id} stopped: ${why}`);
    try {
      const hls = await LiveHls.start(stream.originRouter, audio ? [video, audio] : [video], outDir, keyUri, onExit, this.#cfg.recordLive ? path.join(this.#dataDir, recording) : undefined);
      if (closed()) return hls.close(); // closed while ffmpeg was starting
      this.#hls.set(stream.id, hls);
      this.#broker.logger.info(`media: live HLS of ${stream.id} in ${outDir}`);
    } catch (err) {
      this.#broker.logger.warn(`media: live HLS of ${stream.id} failed to start: ${String(err)}`);
    }
  }

  /** The ended stream's recording becomes a VOD asset of its owner (encoded like an upload). */
  async #submitRecording(liveId: string): Promise<void> {
    let rel = this.#recordings.get(liveId);
    this.#recordings.delete(liveId);
    if (!rel) return;
    const size = statSync(path.join(this.#dataDir, rel), { throwIfNoEntry: false })?.size ?? 0;
    if (size === 0) return;
    try {
      // A stream copy into a fresh file: complete headers (duration, cues) even if the live
      // ffmpeg had to be killed before it could finish the original.
      const final = rel.replace(/\.mkv$/, "-final.mkv");
      await execFileAsync("ffmpeg", ["-v", "error", "-y", "-i", path.join(this.#dataDir, rel), "-c", "copy", path.join(this.#dataDir, final)], { timeout: 120_000 });
      rmSync(path.join(this.#dataDir, rel), { force: true });
      rel = final;
      const vod = await this.#broker.call<{ id: string; ownerId: string }, { liveId: string }>("streams.createRecording", { liveId });
      await this.#broker.call("streams.setStatus", { id: vod.id, status: "processing" });
      await this.#broker.call("encoders.submit", { streamId: vod.id, ownerId: vod.ownerId, input: rel });
      this.#broker.logger.info(`media: recording of ${liveId} (${size} bytes) becomes VOD ${vod.id}`);
    } catch (err) {
      this.#broker.logger.warn(`media: recording of ${liveId} kept in ${rel} but not submitted: ${String(err)}`);
    }
  }
}
