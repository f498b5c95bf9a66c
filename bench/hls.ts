/**
 * `npm run bench -- hls [--connections 32] [--seconds 5] [--startups 8] [--json out.json]`
 * HLS delivery, side by side in one run on one encoded asset (a 20 s 720p ladder):
 *   node:http   a plain static file server over the same files, in its own process (the baseline)
 *   gateway     our origin gateway's /vod/ (MIME, Range, ETag, cache headers), its memory cache
 *               off: it reads each segment from disk, as the baseline does
 *   edge        an edge gateway's hit path (memory LRU, warmed first), and an edge that keeps
 *               nothing (every request a miss through to the origin)
 * Each target gets `connections` keep-alive clients fetching random segments for `seconds`:
 * segments/s, MB/s, p50/p99 latency, ratio to the baseline. Then VOD startup in Chromium: the
 * watch page's "play requested" mark to its first decoded frame, `startups` fresh pages.
 * Last, live HLS latency: a canvas clock broadcast over WebRTC, packaged as live HLS (2 s
 * segments), played by hls.js in the watch page, read back from each frame (target <= 6 s).
 */
import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM } from "../tools/harness/media-pages.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { makeClip, uploadAndWait } from "../tools/harness/vod.js";
import { percentile } from "./webrtc-rtp.js";
import { liveHlsLatency } from "./webrtc-glass.js";
import { barChart, writeBenchResults } from "./chart.js";

interface Options {
  connections: number;
  seconds: number;
  startups: number;
  json: string | undefined;
}

export interface Served {
  target: string;
  segmentsPerSec: number;
  mbPerSec: number;
  p50: number;
  p99: number;
  errors: number;
}

function parse(argv: string[]): Options {
  const o: Options = { connections: 32, seconds: 5, startups: 8, json: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1] ?? ""];
    if (k === "--connections") o.connections = Number(v);
    else if (k === "--seconds") o.seconds = Number(v);
    else if (k === "--startups") o.startups = Number(v);
    else if (k === "--json") o.json = v;
    else throw new Error(`unknown option ${String(k)}`);
  }
  return o;
}

/** The baseline: node:http reading each requested file from disk, in a process of its own
 *  (bench/static-server.ts), as our gateway is. */
async function staticServer(root: string): Promise<{ url: string; close(): void }> {
  const p = spawn(process.execPath, ["--import", "tsx", path.join("bench", "static-server.ts"), root], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    p.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    p.once("exit", (code) => reject(new Error(`the static server exited (${String(code)})`)));
  });
  return { url: `http://127.0.0.1:${String(port)}`, close: () => p.kill() };
}

export async function load(target: string, base: string, paths: string[], o: { connections: number; seconds: number }): Promise<Served> {
  const latencies: number[] = [];
  let bytes = 0;
  let errors = 0;
  const until = performance.now() + o.seconds * 1000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const one = (p: string) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      http.get(`${base}${p}`, { agent }, (res) => {
        let n = 0;
        res.on("data", (c: Buffer) => (n += c.length));
        res.on("end", () => {
          if (res.statusCode === 200) {
            latencies.push(performance.now() - t0);
            bytes += n;
          } else errors++;
          resolve();
        });
      }).on("error", () => {
        errors++;
        resolve();
      });
    });
  const client = async () => {
    while (performance.now() < until) await one(paths[Math.floor(Math.random() * paths.length)] ?? "/");
  };
  await Promise.all(Array.from({ length: o.connections }, client));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { target, segmentsPerSec: Math.round(latencies.length / o.seconds), mbPerSec: Math.round(bytes / 1e6 / o.seconds), p50: Number(percentile(latencies, 50).toFixed(2)), p99: Number(percentile(latencies, 99).toFixed(2)), errors };
}

async function startups(base: string, id: string, n: number): Promise<number[]> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"] });
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${base}/app/watch/${id}`);
      await page.waitForFunction(() => performance.getEntriesByName("first-frame").length > 0, undefined, { timeout: 20_000 });
      out.push(await page.evaluate(() => {
        const [a] = performance.getEntriesByName("play-requested");
        const [b] = performance.getEntriesByName("first-frame");
        return (b?.startTime ?? 0) - (a?.startTime ?? 0);
      }));
      await ctx.close();
    }
  } finally {
    await browser.close();
  }
  return out.sort((a, b) => a - b);
}

export async function hlsBench(argv: string[]): Promise<void> {
  const o = parse(argv);
  console.log("[hls] starting an origin node and encoding a 20 s 720p asset");
  // The origin's memory cache is off: like the node:http baseline, it reads each segment from disk.
  const origin = await PlatformNode.start({ env: { ESH_BLOBS_READ_CACHE_BYTES: "0", ESH_GATEWAY_HTTP_RATE_PER_IP: "1000000", ESH_GATEWAY_HTTP_BURST_PER_IP: "1000000", ESH_GATEWAY_AUTH_BURST_PER_IP: "100", LOG_LEVEL: "warn" } });
  const edgeEnv = { ESH_GATEWAY_EDGE_ORIGIN: origin.url, ESH_GATEWAY_HTTP_RATE_PER_IP: "1000000", ESH_GATEWAY_HTTP_BURST_PER_IP: "1000000", LOG_LEVEL: "warn" };
  const edge = await PlatformNode.start({ services: "gateway,sessions,streams,rooms", env: edgeEnv });
  // The cold edge: no memory or disk to keep anything, so every request goes through to the origin.
  const coldEdge = await PlatformNode.start({ services: "gateway,sessions,streams,rooms", env: { ...edgeEnv, ESH_GATEWAY_EDGE_MEMORY_BYTES: "0", ESH_GATEWAY_EDGE_DISK_BYTES: "0" } });
  const baseline = await staticServer(path.join(origin.dataDir, "vod"));
  try {
    await api(origin.url, "POST", "/api/auth/register", { username: "bench", password: "bench password 1", role: "creator" });
    const token = (await api(origin.url, "POST", "/api/auth/login", { username: "bench", password: "bench password 1" })).body.accessToken as string;
    const id = await uploadAndWait(origin.url, token, makeClip(20), "HLS bench");
    const paths = ["240p", "480p", "720p"].flatMap((r) => Array.from({ length: 10 }, (_, i) => `/vod/${id}/${r}/seg_${String(i).padStart(5, "0")}.ts`));
    for (const p of paths) await fetch(`${edge.url}${p}`).then((r) => r.arrayBuffer()); // warm the edge: measure its hit path
    const results: Served[] = [];
    for (const [name, base] of [["node:http", baseline.url], ["gateway", origin.url], ["edge (hits)", edge.url], ["edge (misses, through to the origin)", coldEdge.url]] as const) {
      process.stdout.write(`[hls] ${name}: ${o.connections} connections for ${o.seconds} s… `);
      const r = await load(name, base, paths, o);
      results.push(r);
      console.log(`${r.segmentsPerSec} segments/s, ${r.mbPerSec} MB/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.errors ? `, ${r.errors} errors` : ""}`);
    }
    const ref = results[0]?.segmentsPerSec ?? 1;
    for (const r of results.slice(1)) console.log(`[hls] ${r.target}: ${(r.segmentsPerSec / ref).toFixed(2)}x node:http`);
    console.log(`[hls] VOD startup in Chromium (play requested -> first frame), ${o.startups} fresh pages…`);
    const s = await startups(origin.url, id, o.startups);
    console.log(`[hls] startup p50 ${Math.round(percentile(s, 50))} ms, max ${Math.round(s.at(-1) ?? NaN)} ms (target p50 <= 1000 ms)`);
    console.log("[hls] live HLS latency (capture -> display), 15 s of frames…");
    const live = await liveHlsLatency(15, (l) => console.log(l));
    if (live) console.log(`[hls] live HLS latency p50 ${(live.p50 / 1000).toFixed(2)} s, p99 ${(live.p99 / 1000).toFixed(2)} s over ${live.samples} frames (target <= 6 s with 2 s segments)`);
    writeBenchResults("hls", "HLS delivery: node:http (own process, reads disk) vs our gateway (cache off) vs an edge, warm and cold", `${String(o.connections)} connections × ${String(o.seconds)} s per target over 30 segments of a 20 s 720p ladder; VOD startup over ${String(o.startups)} fresh Chromium pages`, [
      barChart("Segments/s", "/s", results.map((r) => ({ label: r.target, value: r.segmentsPerSec, baseline: r.target === "node:http" }))),
      barChart("p99 segment latency", "ms", results.map((r) => ({ label: r.target, value: r.p99, baseline: r.target === "node:http" }))),
      barChart("Startup and live latency", "ms", [{ label: "VOD startup p50", value: Math.round(percentile(s, 50)), baseline: false }, ...(live ? [{ label: "live HLS p50 (capture to display)", value: Math.round(live.p50), baseline: false }] : [])]),
    ], { options: o, results, startupMs: s, live: live ?? null }, o.json);
  } finally {
    baseline.close();
    await coldEdge.stop();
    await edge.stop();
    await origin.stop();
  }
}
