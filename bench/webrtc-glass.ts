/**
 * Glass-to-glass latency in headless Chromium: a page draws the wall clock into a canvas and
 * broadcasts it through the platform (gateway signalling, mediasoup SFU, simulcast); another
 * page plays it and reads the clock back from every decoded frame. Baseline from the same run:
 * two RTCPeerConnections talking directly inside one page, same canvas, same probe.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { api, PlatformNode } from "../tools/harness/node.js";
import { percentile } from "./webrtc-rtp.js";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const PROBE = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "glass", "page.js"), "utf8");
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--autoplay-policy=no-user-gesture-required", "--disable-background-timer-throttling", "--disable-renderer-backgrounding"];

export interface GlassResult {
  samples: number;
  p50: number;
  p99: number;
}

async function page(browser: Browser, url: string): Promise<Page> {
  const p = await (await browser.newContext()).newPage();
  await p.goto(`${url}/`);
  await p.addScriptTag({ content: PROBE });
  return p;
}

/** Samples gathered by window.glassProbe over `seconds`, after a warm-up. */
async function collect(p: Page, seconds: number): Promise<GlassResult> {
  await p.waitForFunction(() => ((globalThis as unknown as { glassSamples?: number[] }).glassSamples?.length ?? 0) > 30, undefined, { timeout: 30_000 });
  await p.evaluate(() => (globalThis as unknown as { glassSamples: number[] }).glassSamples.splice(0));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const samples = (await p.evaluate(() => [...(globalThis as unknown as { glassSamples: number[] }).glassSamples])).sort((a, b) => a - b);
  return { samples: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** A creator, a live stream, and a page broadcasting the canvas clock to it; returns the ids. */
async function broadcastClock(browser: Browser, node: PlatformNode): Promise<{ stream: string; guest: string }> {
  await api(node.url, "POST", "/api/auth/register", { username: "glass", password: "glass password 1", role: "creator" });
  const token = (await api(node.url, "POST", "/api/auth/login", { username: "glass", password: "glass password 1" })).body.accessToken as string;
  const stream = (await api(node.url, "POST", "/api/streams", { title: "Glass", kind: "live" }, token)).body.id as string;
  const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
  const sender = await page(browser, node.url);
  await sender.evaluate(async ({ url, token, stream }) => {
    // Runs in the page: the bundled client over the platform's WebSocket.
    const g = globalThis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>> & { glassCanvasStream(): unknown };
    const { LiveMedia } = (await import(`${url}/bundles/live-media.js`)) as { LiveMedia: new (r: unknown, s: string) => { broadcast(m: unknown, src: string): Promise<void> } };
    const sig = (await g.glassSignalling?.(url, token)) as { request: unknown; onNotice: unknown };
    const media = new LiveMedia(sig.request, stream);
    await media.broadcast(g.glassCanvasStream(), "screen");
  }, { url: node.url, token, stream });
  return { stream, guest };
}

async function throughSfu(browser: Browser, node: PlatformNode, seconds: number): Promise<GlassResult> {
  const { stream, guest } = await broadcastClock(browser, node);
  const viewer = await page(browser, node.url);
  await viewer.evaluate(async ({ url, token, stream }) => {
    const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown> & { document: { createElement(t: string): unknown; body: { append(e: unknown): void } }; glassSamples: unknown };
    const { LiveMedia } = (await import(`${url}/bundles/live-media.js`)) as { LiveMedia: new (r: unknown, s: string) => { watch(v: unknown): Promise<void>; onNotice(f: unknown): boolean } };
    const sig = (await g.glassSignalling?.(url, token)) as { request: unknown; onNotice: unknown };
    const video = g.document.createElement("video") as { muted: boolean; autoplay: boolean };
    video.muted = true;
    video.autoplay = true;
    g.document.body.append(video);
    const media = new LiveMedia(sig.request, stream);
    sig.onNotice = (f: unknown) => media.onNotice(f);
    await media.watch(video);
    g.glassSamples = g.glassProbe?.(video);
  }, { url: node.url, token: guest, stream });
  return collect(viewer, seconds);
}

async function direct(browser: Browser, url: string, seconds: number): Promise<GlassResult> {
  const p = await page(browser, url);
  await p.evaluate(async () => {
    const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown> & { document: { createElement(t: string): unknown; body: { append(e: unknown): void } }; glassSamples: unknown };
    const video = g.document.createElement("video") as { muted: boolean; autoplay: boolean };
    video.muted = true;
    video.autoplay = true;
    g.document.body.append(video);
    await g.glassDirect?.(video);
    g.glassSamples = g.glassProbe?.(video);
  });
  return collect(p, seconds);
}

/** Runs both paths; undefined when Chromium is not installed. */
export async function glassToGlass(seconds: number, log: (line: string) => void): Promise<{ sfu: GlassResult; direct: GlassResult } | undefined> {
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  } catch (err) {
    log(`[webrtc] glass-to-glass skipped: cannot start ${CHROMIUM} (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`);
    return undefined;
  }
  const node = await PlatformNode.start({ env: { ESH_MEDIA_WORKERS: "1", ESH_GATEWAY_AUTH_BURST_PER_IP: "100", LOG_LEVEL: "warn" } });
  try {
    log("[webrtc] glass-to-glass: direct RTCPeerConnection pair (baseline)");
    const d = await direct(browser, node.url, seconds);
    log("[webrtc] glass-to-glass: through the platform (WebSocket signalling, mediasoup SFU)");
    const s = await throughSfu(browser, node, seconds);
    return { sfu: s, direct: d };
  } finally {
    await browser.close();
    await node.stop();
  }
}

/** Capture -> display through live HLS (ffmpeg ladder, 2 s segments, hls.js in the watch page). */
export async function liveHlsLatency(seconds: number, log: (line: string) => void): Promise<GlassResult | undefined> {
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  } catch {
    log(`[hls] live latency skipped: cannot start ${CHROMIUM}`);
    return undefined;
  }
  const node = await PlatformNode.start({ env: { ESH_MEDIA_WORKERS: "1", ESH_MEDIA_LIVE_HLS: "true", ESH_MEDIA_RECORD_LIVE: "false", ESH_GATEWAY_AUTH_BURST_PER_IP: "100", LOG_LEVEL: "warn" } });
  try {
    const { stream } = await broadcastClock(browser, node);
    const viewer = await (await browser.newContext()).newPage();
    await viewer.goto(`${node.url}/watch.html?v=${stream}&mode=hls`);
    await viewer.addScriptTag({ content: PROBE });
    await viewer.evaluate(() => {
      const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown> & { document: { getElementById(id: string): unknown }; glassSamples: unknown };
      g.glassSamples = g.glassProbe?.(g.document.getElementById("video"));
    });
    return await collect(viewer, seconds);
  } finally {
    await browser.close();
    await node.stop();
  }
}
