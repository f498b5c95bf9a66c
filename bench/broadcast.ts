/**
 * `npm run bench -- broadcast`: encoders the creators already own, against the browser studio.
 *   1. Glass-to-glass to a WebRTC viewer in Chromium (the app's watch page, the same probe):
 *      an RTMP and an SRT encoder (ffmpeg x264 -tune zerolatency, 1 s GOP, the wall clock drawn
 *      into each frame as 32 blocks by this process) vs the browser studio over WebRTC (the canvas
 *      clock), same node, same run.
 *   2. Concurrent RTMP ingests on one media node, passing H.264 through: the node's CPU (node,
 *      mediasoup worker, one ffmpeg transmuxer per ingest) per ingest and the ingests per core
 *      that follow, with live HLS off and on. The encoders publish a pre-encoded clip (-c copy),
 *      so their own CPU stays out of the figure.
 * Options: --seconds N (glass sampling, 20), --ingests 1,2,4,8, --json FILE.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM } from "../tools/harness/media-pages.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { freePort, waitFor } from "../tools/harness/ports.js";
import { barChart, table, writeBenchResults } from "./chart.js";
import { headlineOf } from "./headline.js";
import { collect, GLASS_ARGS, page, probeVideo, throughSfu, type GlassResult } from "./webrtc-glass.js";

interface Options {
  seconds: number;
  ingests: number[];
  json?: string;
}

function parse(argv: string[]): Options {
  const o: Options = { seconds: 20, ingests: [1, 2, 4, 8] };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1] ?? "";
    if (argv[i] === "--seconds") o.seconds = Number(v);
    else if (argv[i] === "--ingests") o.ingests = v.split(",").map(Number);
    else if (argv[i] === "--json") o.json = v;
  }
  return o;
}

const W = 640, H = 360, FPS = 30, BITS = 32, BLOCK = 20, TOP = 120;

/** An RTMP encoder whose frames carry the wall clock: gray frames drawn here, x264 zerolatency. */
function clockEncoder(url: string): { stop(): void } {
  const ff = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", `${String(W)}x${String(H)}`, "-r", String(FPS), "-i", "pipe:0",
    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", String(FPS), "-pix_fmt", "yuv420p", "-b:v", "1500k", "-an", "-f", url.startsWith("srt:") ? "mpegts" : "flv", url], { stdio: ["pipe", "ignore", "inherit"] });
  ff.stdin.on("error", () => undefined);
  const frame = Buffer.alloc(W * H);
  let n = 0;
  const timer = setInterval(() => {
    const t = Date.now() >>> 0;
    frame.fill(0);
    for (let i = 0; i < BITS; i++) {
      if (((t >>> (31 - i)) & 1) === 0) continue;
      for (let y = TOP; y < TOP + BLOCK * 2; y++) frame.fill(255, y * W + i * BLOCK, y * W + (i + 1) * BLOCK);
    }
    const x = (n++ * 7) % (W - 40); // motion, so the encoder keeps sending
    for (let y = 300; y < 340; y++) frame.fill(128, y * W + x, y * W + x + 40);
    if (ff.stdin.writableLength < 4 * W * H) ff.stdin.write(frame);
  }, 1000 / FPS);
  return { stop: () => (clearInterval(timer), ff.kill("SIGKILL")) };
}

async function creator(node: PlatformNode, name: string): Promise<string> {
  await api(node.url, "POST", "/api/auth/register", { username: name, password: `${name} password 1`, role: "creator" });
  return (await api(node.url, "POST", "/api/auth/login", { username: name, password: `${name} password 1` })).body.accessToken as string;
}

async function rtmpStream(node: PlatformNode, token: string, title: string): Promise<{ id: string; key: string }> {
  const id = ((await api(node.url, "POST", "/api/streams", { title, kind: "live" }, token)).body as { id: string }).id;
  const key = ((await api(node.url, "GET", `/api/streams/${id}/key`, undefined, token)).body as { key: string }).key;
  return { id, key };
}

/** The clock encoder over RTMP or SRT to a stream, watched in the app's watch page. */
async function glassEncoder(browser: Browser, node: PlatformNode, url: (key: string) => string, who: string, seconds: number): Promise<GlassResult> {
  const token = await creator(node, who);
  const { id, key } = await rtmpStream(node, token, `${who} clock`);
  const enc = clockEncoder(url(key));
  try {
    await waitFor("the encoder's show live", async () => (((await api(node.url, "GET", `/api/streams/${id}`)).body as { status: string }).status === "live" ? true : undefined), 20_000, 250);
    const viewer = await page(browser, `${node.url}/app/watch/${id}`);
    await viewer.waitForFunction(() => ((globalThis as unknown as { liveMedia?: { consumers: Map<string, unknown> } }).liveMedia?.consumers.size ?? 0) > 0, undefined, { timeout: 30_000 });
    await probeVideo(viewer);
    return await collect(viewer, seconds);
  } finally {
    enc.stop();
  }
}

/** CPU seconds of a process and all its descendants, from /proc. */
function treeCpuSec(root: number): number {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(f[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone
    }
  }
  let total = 0;
  const walk = (pid: number) => {
    try {
      const st = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return;
    }
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return total;
}

interface IngestStep { ingests: number; hls: boolean; live: number; nodeCpuPct: number; cpuPctPerIngest: number; ingestsPerCore: number }

async function ingestSteps(counts: number[], hls: boolean, clip: string, log: (l: string) => void): Promise<IngestStep[]> {
  const rtmpPort = await freePort();
  const node = await PlatformNode.start({ env: { ESH_MEDIA_RTMP_PORT: String(rtmpPort), ESH_MEDIA_LIVE_HLS: String(hls), ESH_MEDIA_RECORD_LIVE: "false", LOG_LEVEL: "warn", ESH_GATEWAY_AUTH_BURST_PER_IP: "1000" } });
  const out: IngestStep[] = [];
  try {
    const token = await creator(node, "loader");
    for (const n of counts) {
      const streams = await Promise.all(Array.from({ length: n }, (_, i) => rtmpStream(node, token, `load ${String(n)}-${String(i)}`)));
      const pubs = streams.map((s) => spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "flv", `rtmp://127.0.0.1:${String(rtmpPort)}/live/${s.key}`], { stdio: "ignore" }));
      try {
        const live = await waitFor(`${String(n)} ingests live`, async () => {
          const st = await Promise.all(streams.map(async (s) => ((await api(node.url, "GET", `/api/streams/${s.id}`)).body as { status: string }).status));
          const k = st.filter((x) => x === "live").length;
          return k === n ? k : undefined;
        }, 30_000, 500);
        await new Promise((r) => setTimeout(r, 3000)); // settle (HLS ffmpegs start 1.5 s after the producers)
        const c0 = treeCpuSec(node.proc.pid ?? 0);
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, 10_000));
        const pct = ((treeCpuSec(node.proc.pid ?? 0) - c0) / ((Date.now() - t0) / 1000)) * 100;
        const per = pct / n;
        const step = { ingests: n, hls, live, nodeCpuPct: Math.round(pct), cpuPctPerIngest: Number(per.toFixed(1)), ingestsPerCore: Number((100 / Math.max(per, 0.1)).toFixed(1)) };
        log(`[broadcast] ${String(n)} RTMP ingest(s)${hls ? " + live HLS" : ""}: node ${String(step.nodeCpuPct)}% of a core, ${String(step.cpuPctPerIngest)}% per ingest -> ${String(step.ingestsPerCore)} ingests per core`);
        out.push(step);
      } finally {
        for (const p of pubs) p.kill("SIGKILL");
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    await node.stop();
  }
  return out;
}

export async function broadcastBench(argv: string[]): Promise<void> {
  const o = parse(argv);
  const log = (l: string) => console.log(l);
  const dir = mkdtempSync(path.join(os.tmpdir(), "esh-broadcast-"));
  const clip = path.join(dir, "clip.flv");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=20", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=20", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30", "-b:v", "2500k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "flv", clip]);
  let glass: { rtmp: GlassResult; srt: GlassResult; webrtc: GlassResult } | undefined;
  if (o.seconds > 0) {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: GLASS_ARGS });
    const rtmpPort = await freePort();
    const srtPort = await freePort();
    const node = await PlatformNode.start({ env: { ESH_MEDIA_RTMP_PORT: String(rtmpPort), ESH_MEDIA_SRT_PORT: String(srtPort), ESH_MEDIA_WORKERS: "1", LOG_LEVEL: "warn", ESH_GATEWAY_AUTH_BURST_PER_IP: "100" } });
    try {
      log("[broadcast] glass-to-glass: browser studio over WebRTC (baseline)");
      const webrtc = await throughSfu(browser, node, o.seconds);
      log("[broadcast] glass-to-glass: ffmpeg x264 zerolatency over RTMP");
      const rtmp = await glassEncoder(browser, node, (key) => `rtmp://127.0.0.1:${String(rtmpPort)}/live/${key}`, "rtmpglass", o.seconds);
      log("[broadcast] glass-to-glass: ffmpeg x264 zerolatency over SRT (120 ms latency window)");
      const srt = await glassEncoder(browser, node, (key) => `srt://127.0.0.1:${String(srtPort)}?streamid=${key}`, "srtglass", o.seconds);
      glass = { rtmp, srt, webrtc };
      log(`[broadcast] glass-to-glass RTMP  : p50 ${String(rtmp.p50)} ms, p99 ${String(rtmp.p99)} ms (${String(rtmp.samples)} frames; target p50 <= 500 ms)`);
      log(`[broadcast] glass-to-glass SRT   : p50 ${String(srt.p50)} ms, p99 ${String(srt.p99)} ms (${String(srt.samples)} frames; target p50 <= 400 ms)`);
      log(`[broadcast] glass-to-glass WebRTC: p50 ${String(webrtc.p50)} ms, p99 ${String(webrtc.p99)} ms (${String(webrtc.samples)} frames)`);
      log(`[broadcast] RTMP adds p50 ${String(rtmp.p50 - webrtc.p50)} ms over the browser studio (ratio ${(rtmp.p50 / Math.max(1, webrtc.p50)).toFixed(2)}x)`);
    } finally {
      await browser.close();
      await node.stop();
    }
  }
  const passthrough = await ingestSteps(o.ingests, false, clip, log);
  const withHls = await ingestSteps(o.ingests.filter((n) => n <= 2), true, clip, log);
  rmSync(dir, { recursive: true, force: true });
  // The highest step such that it and every lower step had all its ingests live (headline.ts).
  const headline = (steps: IngestStep[]) => headlineOf(steps, (s) => s.live === s.ingests)?.ingestsPerCore;
  log(`[broadcast] headline: ${String(headline(passthrough) ?? "?")} RTMP ingests per media node core passing through; ${String(headline(withHls) ?? "?")} with the live HLS ladder on`);
  const glassBars = glass ? [{ label: "browser studio (WebRTC)", value: glass.webrtc.p50, baseline: true }, { label: "RTMP (ffmpeg x264 zerolatency)", value: glass.rtmp.p50, baseline: false }, { label: "SRT (120 ms window)", value: glass.srt.p50, baseline: false }] : [];
  const stepRows = [...passthrough, ...withHls].map((s) => [s.hls ? "with live HLS" : "pass-through", s.ingests, s.live, s.nodeCpuPct, s.cpuPctPerIngest, s.ingestsPerCore]);
  writeBenchResults("broadcast", "Broadcast from encoders: glass-to-glass by protocol, RTMP ingests per media node core", "glass-to-glass: a canvas clock through the platform to a watch page in Chromium; ingests: ffmpeg pushing a 720p30 2.5 Mbit/s clip over RTMP", [
    ...(glass ? [barChart("Glass-to-glass p50 (capture to display)", "ms", glassBars)] : []),
    barChart("RTMP ingests per media node core", "ingests", [{ label: "pass-through", value: headline(passthrough) ?? 0, baseline: false }, { label: "with the live HLS ladder", value: headline(withHls) ?? 0, baseline: false }]),
    table(["mode", "ingests", "live", "node CPU %", "CPU % per ingest", "ingests per core"], stepRows),
  ], { glass: glass ?? null, passthrough, withHls }, o.json);
}
