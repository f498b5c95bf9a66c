/**
 * The VOD ladder: one ffmpeg process (through fluent-ffmpeg, kept behind this module) decodes
 * the source once, splits it and encodes every rendition — 240p/480p/720p, and 1080p when the
 * source has it, never upscaled — as AES-128 encrypted HLS with 2 s GOP-aligned segments, a
 * master playlist, then a poster (and from it a card-sized image) and a thumbnail sprite.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ffmpeg from "fluent-ffmpeg";
import { stripPaths, type MediaInfo } from "./probe.js";

export interface Rendition {
  name: string;
  height: number;
  videoKbps: number;
  audioKbps: number;
}

export const HLS_LADDER: readonly Rendition[] = [
  { name: "240p", height: 240, videoKbps: 400, audioKbps: 64 },
  { name: "480p", height: 480, videoKbps: 1000, audioKbps: 96 },
  { name: "720p", height: 720, videoKbps: 2500, audioKbps: 128 },
  { name: "1080p", height: 1080, videoKbps: 5000, audioKbps: 128 },
];

export const SEGMENT_SEC = 2;
import { SPRITE } from "../protocol/media.js";

/** The renditions for a source: every rung up to its height (never upscale), at least one. */
export function renditionsFor(info: MediaInfo): Rendition[] {
  const fit = HLS_LADDER.filter((r) => r.height <= info.video.height);
  if (fit.length > 0) return fit;
  const low = HLS_LADDER[0] as Rendition;
  return [{ ...low, name: `${info.video.height - (info.video.height % 2)}p`, height: info.video.height - (info.video.height % 2) }];
}

export interface LadderJob {
  input: string;
  outDir: string;
  info: MediaInfo;
  /** AES-128: the key URI players fetch, the key bytes and the IV. */
  key: { uri: string; bytes: Buffer; iv: Buffer };
  onProgress(percent: number): void;
  /** Kills ffmpeg when aborted (cancel, node stopping). */
  signal?: AbortSignal;
}

function timemarkSec(mark: string | undefined): number {
  const m = /^(\d+):(\d+):(\d+(?:\.\d+)?)/.exec(mark ?? "");
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : 0;
}

function run(cmd: ffmpeg.FfmpegCommand, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => cmd.kill("SIGKILL");
    signal?.addEventListener("abort", abort, { once: true });
    cmd
      .on("end", () => {
        signal?.removeEventListener("abort", abort);
        resolve();
      })
      .on("error", (err: Error, _out: string | null, stderr: string | null) => {
        signal?.removeEventListener("abort", abort);
        const last = (stderr ?? "").split("\n").filter((l) => l.trim() && !l.startsWith("  ")).slice(-6).join(" | ");
        reject(new Error(signal?.aborted ? "cancelled" : stripPaths(`ffmpeg failed: ${err.message}${last ? ` (${last.slice(0, 400)})` : ""}`)));
      })
      .run();
  });
}

/** Encodes the whole ladder in one ffmpeg process; returns the renditions made. */
export async function encodeLadder(job: LadderJob): Promise<Rendition[]> {
  const rungs = renditionsFor(job.info);
  const hasAudio = job.info.audio !== undefined;
  const gop = Math.max(1, Math.round((job.info.video.fps || 30) * SEGMENT_SEC));
  const tmp = path.join(os.tmpdir(), `esh-key-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  const keyFile = path.join(tmp, "key.bin");
  const keyInfo = path.join(tmp, "key.info");
  writeFileSync(keyFile, job.key.bytes, { mode: 0o600 });
  writeFileSync(keyInfo, `${job.key.uri}\n${keyFile}\n${job.key.iv.toString("hex")}\n`, { mode: 0o600 });
  for (const r of rungs) mkdirSync(path.join(job.outDir, r.name), { recursive: true });
  const out: string[] = [];
  rungs.forEach((r, i) => {
    out.push("-map", `[v${i}]`, `-c:v:${i}`, "libx264", `-b:v:${i}`, `${r.videoKbps}k`, `-maxrate:v:${i}`, `${Math.round(r.videoKbps * 1.1)}k`, `-bufsize:v:${i}`, `${r.videoKbps * 2}k`);
    if (hasAudio) out.push("-map", "0:a:0", `-c:a:${i}`, "aac", `-b:a:${i}`, `${r.audioKbps}k`, `-ac:a:${i}`, "2");
  });
  const streamMap = rungs.map((r, i) => (hasAudio ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`)).join(" ");
  const cmd = ffmpeg(job.input)
    .complexFilter(ladderFilter(rungs, job.info.durationSec))
    .inputOptions("-filter_complex_threads", "2")
    // Spread, not an array: fluent-ffmpeg splits an array element that holds exactly one space
    // ("v:0,a:0,name:240p v:1,a:1,name:480p") into two arguments.
    .outputOptions(
      ...out,
      "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
      "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0",
      "-f", "hls", "-hls_time", String(SEGMENT_SEC), "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
      "-hls_segment_type", "mpegts", "-hls_key_info_file", keyInfo,
      "-hls_segment_filename", path.join(job.outDir, "%v", "seg_%05d.ts"),
      "-master_pl_name", "master.m3u8",
      "-var_stream_map", streamMap,
    )
    .output(path.join(job.outDir, "%v", "index.m3u8"))
    .output(path.join(job.outDir, "sprite.jpg"))
    .outputOptions("-map", "[sprite]", "-frames:v", "1", "-q:v", "4")
    .on("progress", (p: { timemark?: string }) => job.onProgress(Math.min(99, (100 * timemarkSec(p.timemark)) / job.info.durationSec)));
  try {
    await run(cmd, job.signal);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  await images(job);
  job.onProgress(100);
  return rungs;
}

/**
 * Scales in a cascade — source -> highest rung -> next -> ... -> lowest -> sprite tiles — so
 * each scaler works from the nearest larger picture instead of every one from the source.
 */
export function ladderFilter(rungs: readonly Rendition[], durationSec: number, opts: { sprite?: boolean; input?: string } = {}): string[] {
  const sprite = opts.sprite ?? true;
  const parts: string[] = [];
  let from = opts.input ?? "[0:v]";
  for (let i = rungs.length - 1; i >= 0; i--) {
    const r = rungs[i] as Rendition;
    const more = i > 0 || sprite;
    parts.push(more ? `${from}scale=-2:${r.height},split=2[v${i}][n${i}]` : `${from}scale=-2:${r.height}[v${i}]`);
    from = `[n${i}]`;
  }
  if (sprite) {
    const every = Math.max(0.1, durationSec / (SPRITE.columns * SPRITE.rows));
    parts.push(`${from}fps=1/${every.toFixed(3)},scale=${SPRITE.width}:-2,tile=${SPRITE.columns}x${SPRITE.rows}[sprite]`);
  }
  return parts;
}

/** Card images are this wide (the app's cards: a few KB instead of the poster's full size). */
export const CARD_WIDTH = 320;

/** A poster: one frame a little way in (a fast seek: cheap), and from it the card image. The
 *  sprite comes out of the ladder run. */
async function images(job: LadderJob): Promise<void> {
  const at = Math.min(5, job.info.durationSec / 3);
  const poster = path.join(job.outDir, "poster.jpg");
  await run(ffmpeg(job.input).seekInput(at).outputOptions(["-frames:v", "1", "-vf", "scale=-2:'min(720,ih)'", "-q:v", "3"]).output(poster), job.signal);
  await run(ffmpeg(poster).outputOptions(["-frames:v", "1", "-vf", `scale=${String(CARD_WIDTH)}:-2`, "-q:v", "4"]).output(path.join(job.outDir, "card.jpg")), job.signal);
}
