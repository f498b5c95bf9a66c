/**
 * `npm run bench -- transcode [--seconds 20] [--size 1920x1080] [--json out.json]`
 * The VOD ladder as x realtime, side by side in one run on the same generated source:
 *   ours      one ffmpeg process decoding once and encoding every rendition (media/ladder.ts,
 *             encrypted HLS, then poster and sprite)
 *   baseline  one ffmpeg process per rendition, all at once, each decoding the source itself
 *             (same encoder settings, same encrypted HLS output; no poster/sprite)
 * Target: ours >= 1.25x the baseline.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { encodeLadder, renditionsFor, SEGMENT_SEC, type Rendition } from "../media/ladder.js";
import { probeUpload } from "../media/probe.js";
import { barChart, writeBenchResults } from "./chart.js";

interface Options {
  seconds: number;
  size: string;
  json: string | undefined;
}

function parse(argv: string[]): Options {
  const o: Options = { seconds: 20, size: "1920x1080", json: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1] ?? ""];
    if (k === "--seconds") o.seconds = Number(v);
    else if (k === "--size") o.size = v;
    else if (k === "--json") o.json = v;
    else throw new Error(`unknown option ${String(k)}`);
  }
  return o;
}

const bar = (p: number) => `[${"#".repeat(Math.round(p / 4)).padEnd(25)}] ${Math.round(p)}%`;
const show = (line: string) => process.stdout.write(process.stdout.isTTY ? `\r${line.padEnd(90)}` : "");

/** One rendition in its own ffmpeg process (the baseline). */
function oneRendition(input: string, out: string, r: Rendition, gop: number, keyInfo: string): Promise<void> {
  mkdirSync(out, { recursive: true });
  const args = ["-v", "error", "-y", "-i", input, "-vf", `scale=-2:${r.height}`, "-c:v", "libx264", "-b:v", `${r.videoKbps}k`, "-maxrate", `${Math.round(r.videoKbps * 1.1)}k`, "-bufsize", `${r.videoKbps * 2}k`,
    "-c:a", "aac", "-b:a", `${r.audioKbps}k`, "-ac", "2", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p", "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0",
    "-f", "hls", "-hls_time", String(SEGMENT_SEC), "-hls_playlist_type", "vod", "-hls_key_info_file", keyInfo, "-hls_segment_filename", path.join(out, "seg_%05d.ts"), path.join(out, "index.m3u8")];
  return new Promise((resolve, reject) => execFile("ffmpeg", args, (err) => (err ? reject(new Error(`ffmpeg ${r.name}: ${err.message}`)) : resolve())));
}

export async function transcodeBench(argv: string[]): Promise<void> {
  const o = parse(argv);
  const dir = mkdtempSync(path.join(os.tmpdir(), "esh-transcode-"));
  try {
    const input = path.join(dir, "source.mp4");
    console.log(`[transcode] generating a ${o.seconds} s ${o.size} source (testsrc2 + grain, sine)`);
    execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=${o.size}:rate=30,noise=alls=12:allf=t`, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(o.seconds), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac", "-shortest", input]);
    const info = await probeUpload(input, { maxDurationSec: 86400, maxWidth: 8192, maxHeight: 8192 });
    const rungs = renditionsFor(info);
    const key = { uri: "/api/keys/bench", bytes: randomBytes(16), iv: randomBytes(16) };
    console.log(`[transcode] ladder: ${rungs.map((r) => r.name).join(", ")} on ${os.availableParallelism()} cores`);

    let t0 = Date.now();
    await encodeLadder({ input, outDir: path.join(dir, "ours"), info, key, onProgress: (p) => show(`[transcode] ours      ${bar(p)}`) });
    const oursSec = (Date.now() - t0) / 1000;
    show("");
    console.log(`[transcode] ours (one process, ${rungs.length} renditions + poster + sprite): ${oursSec.toFixed(1)} s = ${(o.seconds / oursSec).toFixed(2)}x realtime`);

    writeFileSync(path.join(dir, "key.bin"), key.bytes);
    const keyInfo = path.join(dir, "key.info");
    writeFileSync(keyInfo, `${key.uri}\n${path.join(dir, "key.bin")}\n${key.iv.toString("hex")}\n`);
    t0 = Date.now();
    const tick = setInterval(() => show(`[transcode] baseline  ${((Date.now() - t0) / 1000).toFixed(0)} s elapsed, ${rungs.length} processes`), 500);
    await Promise.all(rungs.map((r) => oneRendition(input, path.join(dir, "baseline", r.name), r, Math.round(info.video.fps * SEGMENT_SEC), keyInfo)));
    clearInterval(tick);
    const baseSec = (Date.now() - t0) / 1000;
    show("");
    console.log(`[transcode] baseline (${rungs.length} processes at once, ladder only): ${baseSec.toFixed(1)} s = ${(o.seconds / baseSec).toFixed(2)}x realtime`);
    const ratio = baseSec / oursSec;
    console.log(`[transcode] ours is ${ratio.toFixed(2)}x the baseline (target >= 1.25x)`);
    writeBenchResults("transcode", "The VOD ladder: one ffmpeg process (ours) vs one process per rendition (baseline)", `${String(o.seconds)} s of ${o.size} input; ladder ${rungs.map((r) => r.name).join(", ")}; ours also makes the poster and the sprite`, [
      barChart("Wall time for the whole ladder (lower is better)", "s", [{ label: "ours: one process", value: Number(oursSec.toFixed(1)), baseline: false }, { label: `baseline: ${String(rungs.length)} processes`, value: Number(baseSec.toFixed(1)), baseline: true }]),
      barChart("Speed", "x realtime", [{ label: "ours: one process", value: Number((o.seconds / oursSec).toFixed(2)), baseline: false }, { label: `baseline: ${String(rungs.length)} processes`, value: Number((o.seconds / baseSec).toFixed(2)), baseline: true }]),
    ], { options: o, renditions: rungs.map((r) => r.name), oursSec, baselineSec: baseSec, oursRealtime: o.seconds / oursSec, baselineRealtime: o.seconds / baseSec, ratio }, o.json);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
