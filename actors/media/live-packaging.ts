/**
 * Live HLS and recording of the streams whose origin is this media node: an ffmpeg per stream
 * (media/live-hls.ts) packages the producers as an encrypted HLS ladder in this node's scratch
 * directory (DATA_DIR/scratch/live/<id>), copied to the blob store as it grows (media/
 * live-mirror.ts: live/<id>/ for every gateway), and records them; restarted when the producers
 * settle (video and audio arrive apart); when the stream ends, the recording is finished, put in
 * the blob store as the source of a new VOD asset of the owner, and encoded like an upload.
 *
 * Owned by MediaNode; a LiveStream knows nothing of it. Owner of: each stream's LiveHls and
 * LiveMirror (closed when its stream closes, or finished gracefully when it ends) and its
 * recording file.
 */
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { ServiceBroker } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { LiveHls } from "../../media/live-hls.js";
import { LiveMirror } from "../../media/live-mirror.js";
import { partKey, retrying, type BlobStore } from "../../blobs/index.js";
import type { LiveStream } from "../../media/live-stream.js";

const execFileAsync = promisify(execFile);
/** Producers arriving within this long of each other start one HLS session, not two. */
const SETTLE_MS = 1500;
const RECORDING_PART_BYTES = 16 * 1024 ** 2;

/** One origin stream's packaging: its ffmpeg once started, the recording it writes, and the
 *  timer that restarts it as producers settle. Tied to the LiveStream instance, not only its id:
 *  a stream reopened under the same id (after a worker died) gets packaging of its own. */
interface Packaged {
  stream: LiveStream;
  hls?: LiveHls;
  mirror?: LiveMirror;
  recording?: string;
  timer?: NodeJS.Timeout;
  /** Bumped by each restart: an older start that finishes late gives way. */
  generation: number;
}

export class LivePackaging {
  readonly #cfg: AppConfig["media"];
  readonly #broker: ServiceBroker;
  readonly #scratch: string;
  readonly #blobs: BlobStore;
  readonly #blobCfg: AppConfig["blobs"];
  readonly #live = new Map<string, Packaged>();

  constructor(cfg: AppConfig["media"], broker: ServiceBroker, dataDir: string, blobs: BlobStore, blobCfg: AppConfig["blobs"]) {
    this.#cfg = cfg;
    this.#broker = broker;
    this.#scratch = path.join(dataDir, "scratch");
    this.#blobs = blobs;
    this.#blobCfg = blobCfg;
  }

  /** A producer appeared on an origin stream: (re)start packaging once the producers settle. */
  producerAdded(stream: LiveStream): void {
    if (!this.#cfg.liveHls || stream.origin !== undefined || stream.closed) return;
    let p = this.#live.get(stream.id);
    if (p?.stream !== stream) {
      if (p) this.#stop(p);
      p = { stream, generation: 0 };
      this.#live.set(stream.id, p);
    }
    clearTimeout(p.timer);
    const entry = p;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.#restart(entry);
    }, SETTLE_MS);
    entry.timer.unref();
  }

  /** Live HLS key n of a stream, while recent. */
  key(streamId: string, n: number): Buffer | undefined {
    return this.#live.get(streamId)?.hls?.key(n);
  }

  /** The stream closed (any reason): its packaging stops now. */
  closed(stream: LiveStream): void {
    const p = this.#live.get(stream.id);
    if (p?.stream !== stream) return;
    this.#live.delete(stream.id);
    this.#stop(p);
  }

  /** The stream ended: ffmpeg finishes its files (the recording included) in the background,
   *  then the recording is submitted as VOD. Call before closing the stream. */
  ended(stream: LiveStream): void {
    const p = this.#live.get(stream.id);
    if (p?.stream !== stream) return;
    this.#live.delete(stream.id);
    clearTimeout(p.timer);
    void (async () => {
      await p.hls?.finish().catch(() => undefined);
      await p.mirror?.finish();
      if (p.recording) await this.#submitRecording(stream.id, p.recording);
    })();
  }

  closeAll(): void {
    for (const p of this.#live.values()) this.#stop(p);
    this.#live.clear();
  }

  #stop(p: Packaged): void {
    clearTimeout(p.timer);
    p.hls?.close();
    p.hls = undefined;
    p.mirror?.close();
    p.mirror = undefined;
  }

  async #restart(p: Packaged): Promise<void> {
    const stream = p.stream;
    p.hls?.close();
    p.hls = undefined;
    p.mirror?.close();
    p.mirror = undefined;
    const producers = [...stream.producers.values()].map((x) => x.producer);
    const video = producers.find((x) => x.kind === "video");
    const generation = ++p.generation;
    const current = () => this.#live.get(stream.id) === p && !stream.closed && p.generation === generation; // read again after the await below
    if (!current() || !video) return;
    const audio = producers.find((x) => x.kind === "audio");
    const outDir = path.join(this.#scratch, "live", stream.id);
    const session = Date.now().toString(36); // new key URLs and segment names per restart: players never mix sessions
    const recording = path.join(this.#scratch, `rec-${stream.id}-${session}.mkv`);
    mkdirSync(this.#scratch, { recursive: true });
    if (this.#cfg.recordLive) p.recording = recording;
    const keyUri = (n: number) => `/api/livekeys/${stream.id}/${session}-${n}`;
    const onExit = (why: string) => this.#broker.logger.warn(`media: live HLS of ${stream.id} stopped: ${why}`);
    try {
      const hls = await LiveHls.start(stream.originRouter, audio ? [video, audio] : [video], outDir, keyUri, onExit, this.#cfg.recordLive ? recording : undefined);
      if (!current()) return hls.close(); // closed, or restarted again, while ffmpeg was starting
      p.hls = hls;
      const log = (level: "info" | "warn", msg: string) => this.#broker.logger[level](`media: ${msg}`);
      p.mirror = new LiveMirror({ blobs: this.#blobs, dir: outDir, streamId: stream.id, session, bufferSegments: this.#blobCfg.liveBufferSegments, log });
      this.#broker.logger.info(`media: live HLS of ${stream.id} (${outDir}, into the blob store at live/${stream.id}/)`);
    } catch (err) {
      this.#broker.logger.warn(`media: live HLS of ${stream.id} failed to start: ${String(err)}`);
    }
  }

  /** The ended stream's recording becomes a VOD asset of its owner (encoded like an upload). */
  async #submitRecording(liveId: string, recording: string): Promise<void> {
    const size = statSync(recording, { throwIfNoEntry: false })?.size ?? 0;
    if (size === 0) return;
    // A stream copy into a fresh file: complete headers (duration, cues) even if the live
    // ffmpeg had to be killed before it could finish the original.
    const final = recording.replace(/\.mkv$/, "-final.mkv");
    try {
      await execFileAsync("ffmpeg", ["-v", "error", "-y", "-i", recording, "-c", "copy", final], { timeout: 120_000 });
      const vod = await this.#broker.call<{ id: string; ownerId: string }, { liveId: string }>("streams.createRecording", { liveId });
      const bytes = await retrying(() => putInParts(this.#blobs, vod.id, final), this.#blobCfg.retryMs);
      await this.#broker.call("streams.setStatus", { id: vod.id, status: "processing" });
      await this.#broker.call("encoders.submit", { streamId: vod.id, ownerId: vod.ownerId, sourceBytes: bytes });
      this.#broker.logger.info(`media: recording of ${liveId} (${String(bytes)} bytes) becomes VOD ${vod.id}`);
      rmSync(recording, { force: true });
      rmSync(final, { force: true });
    } catch (err) {
      this.#broker.logger.warn(`media: recording of ${liveId} kept in ${recording} but not submitted: ${String(err)}`);
    }
  }
}

/** A recording into the blob store as an upload's parts would be (RECORDING_PART_BYTES each):
 *  an encoder reads one part at a time, never the whole file. Returns its size. */
export async function putInParts(blobs: BlobStore, streamId: string, file: string): Promise<number> {
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.alloc(Math.min(RECORDING_PART_BYTES, size));
    for (let at = 0; at < size; at += RECORDING_PART_BYTES) {
      const n = Math.min(RECORDING_PART_BYTES, size - at);
      await fh.read(buf, 0, n, at);
      await blobs.put(partKey(streamId, at, at + n), buf.subarray(0, n));
    }
    return size;
  } finally {
    await fh.close();
  }
}
