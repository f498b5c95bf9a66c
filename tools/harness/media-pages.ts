/**
 * Driving the platform's media pages in headless Chromium (playwright-core): the broadcaster
 * page going live, viewer pages joining as guests, and what they decode (from the LiveMedia
 * consumers' inbound RTP stats).
 */
import type { Browser, Page } from "playwright-core";
import { waitFor } from "./ports.js";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
export const MEDIA_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"];

/** What the pages expose, as seen from page.evaluate callbacks (type-only: no DOM lib here). */
export interface PageGlobals {
  liveMedia?: { consumers: Map<string, { id: string; kind: "video" | "audio"; getStats(): Promise<Map<string, Record<string, number | string>>> }> };
  mediaStates: string[];
  document: { getElementById(id: string): { textContent: string | null } | null };
}

export interface Inbound { consumerId: string; framesDecoded: number; frameHeight: number; packetsReceived: number }
export type Stats = Partial<Record<"video" | "audio", Inbound>>;

/** The page's inbound RTP stats per kind, from its LiveMedia consumers. */
export function inbound(page: Page): Promise<Stats> {
  return page.evaluate(async () => {
    const media = (globalThis as unknown as PageGlobals).liveMedia;
    const out: Record<string, unknown> = {};
    for (const c of media?.consumers.values() ?? []) {
      for (const s of (await c.getStats()).values()) {
        if (s.type === "inbound-rtp") out[c.kind] = { consumerId: c.id, framesDecoded: s.framesDecoded ?? 0, frameHeight: s.frameHeight ?? 0, packetsReceived: s.packetsReceived ?? 0 };
      }
    }
    return out;
  });
}

/** Waits until the page decodes video and receives audio (on new consumers, when `since` is given). */
export async function playing(page: Page, what: string, since?: Stats): Promise<Stats> {
  return waitFor(`${what} decoding video and receiving audio`, async () => {
    const s = await inbound(page);
    const fresh = !since?.video || s.video?.consumerId !== since.video.consumerId;
    return fresh && (s.video?.framesDecoded ?? 0) > 20 && (s.audio?.packetsReceived ?? 0) > 20 ? s : undefined;
  }, 30_000, 250);
}

/** A guest viewer on /room.html for this stream. */
export async function viewerPage(browser: Browser, baseUrl: string, streamId: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${baseUrl}/room.html?room=${streamId}`);
  await page.click("#guest");
  await page.waitForSelector("#conn.online");
  return page;
}

/** The broadcaster page, logged in, live on this stream from the fake camera. */
export async function goLive(browser: Browser, baseUrl: string, username: string, password: string, streamId: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${baseUrl}/broadcast.html`);
  await page.fill("#login input[name=username]", username);
  await page.fill("#login input[name=password]", password);
  await page.click("#login button");
  await page.waitForSelector("#studio:not([hidden])");
  await page.selectOption("#stream", streamId);
  await page.click("#go");
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("state")?.textContent === "live", undefined, { timeout: 20_000 });
  return page;
}
