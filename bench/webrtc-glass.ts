/**
 * Glass-to-glass latency in headless Chromium: the app's studio goes live with a "camera" that
 * draws the wall clock into a canvas, through the platform (gateway signalling, mediasoup SFU,
 * simulcast); the app's watch page plays it and the probe reads the clock back from every
 * decoded frame. Baseline from the same run:
 * two RTCPeerConnections talking directly inside one page, same canvas, same probe.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { goLive } from "../tools/harness/media-pages.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { percentile } from "./webrtc-rtp.js";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const PROBE = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "glass", "page.js"), "utf8");
export const GLASS_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--autoplay-policy=no-user-gesture-required", "--disable-background-timer-throttling", "--disable-renderer-backgrounding"];

export interface GlassResult {
  samples: number;
  p50: number;
  p99: number;
}

/** A page of the app with the probe loaded before the app's own scripts (an init script, which
 *  the app's Content-Security-Policy does not apply to). */
export async function page(browser: Browser, url: string): Promise<Page> {
  const p = await (await browser.newContext()).newPage();
  await p.addInitScript(PROBE);
  await p.goto(url);
  return p;
}

/** Samples gathered by window.glassProbe over `seconds`, after a warm-up. */
export async function collect(p: Page, seconds: number): Promise<GlassResult> {
  await p.waitForFunction(() => ((globalThis as unknown as { glassSamples?: number[] }).glassSamples?.length ?? 0) > 30, undefined, { timeout: 30_000 });
  await p.evaluate(() => (globalThis as unknown as { glassSamples: number[] }).glassSamples.splice(0));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const samples = (await p.evaluate(() => [...(globalThis as unknown as { glassSamples: number[] }).glassSamples])).sort((a, b) => a - b);
  return { samples: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** Starts the probe on the page's video element. */
export async function probeVideo(p: Page): Promise<void> {
  await p.evaluate(() => {
    const g = globalThis as unknown as { document: { querySelector(s: string): unknown }; glassProbe(v: unknown): number[]; glassSamples: number[] };
    g.glassSamples = g.glassProbe(g.document.querySelector("video"));
  });
}

/** A creator and a live stream, broadcast from the app's studio whose "camera" is the canvas
 *  clock; returns the stream id. */
async function broadcastClock(browser: Browser, node: PlatformNode): Promise<string> {
  await api(node.url, "POST", "/api/auth/register", { username: "glass", password: "glass password 1", role: "creator" });
  const token = (await api(node.url, "POST", "/api/auth/login", { username: "glass", password: "glass password 1" })).body.accessToken as string;
  const stream = (await api(node.url, "POST", "/api/streams", { title: "Glass", kind: "live" }, token)).body.id as string;
  await goLive(browser, node.url, "glass", "glass password 1", stream, `${PROBE}\nwindow.glassUseCanvasAsCamera();`);
  return stream;
}

/** A guest on the app's watch page (WebRTC through the SFU), probing what it decodes. */
export async function throughSfu(browser: Browser, node: PlatformNode, seconds: number): Promise<GlassResult> {
  const stream = await broadcastClock(browser, node);
  const viewer = await page(browser, `${node.url}/app/watch/${stream}`);
  await viewer.waitForFunction(() => ((globalThis as unknown as { liveMedia?: { consumers: Map<string, unknown> } }).liveMedia?.consumers.size ?? 0) > 0, undefined, { timeout: 30_000 });
  await probeVideo(viewer);
  return collect(viewer, seconds);
}

/** The baseline: two RTCPeerConnections in one page of the same origin, same canvas and probe. */
async function direct(browser: Browser, url: string, seconds: number): Promise<GlassResult> {
  const p = await page(browser, `${url}/app/`);
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
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: GLASS_ARGS });
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
/** `env`: more settings for the node (the storage bench puts its media objects in NATS). */
export async function liveHlsLatency(seconds: number, log: (line: string) => void, env: Record<string, string> = {}): Promise<GlassResult | undefined> {
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: GLASS_ARGS });
  } catch {
    log(`[hls] live latency skipped: cannot start ${CHROMIUM}`);
    return undefined;
  }
  const node = await PlatformNode.start({ env: { ESH_MEDIA_WORKERS: "1", ESH_MEDIA_LIVE_HLS: "true", ESH_MEDIA_RECORD_LIVE: "false", ESH_GATEWAY_AUTH_BURST_PER_IP: "100", LOG_LEVEL: "warn", ...env } });
  try {
    const stream = await broadcastClock(browser, node);
    const viewer = await page(browser, `${node.url}/app/watch/${stream}?mode=hls`);
    await viewer.waitForSelector("video[aria-label=Video]");
    await probeVideo(viewer);
    return await collect(viewer, seconds);
  } finally {
    await browser.close();
    await node.stop();
  }
}
