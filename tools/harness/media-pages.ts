/**
 * Driving the web app's media screens in headless Chromium (playwright-core): the studio going
 * live, watch pages joining as guests, and what they decode (from the LiveMedia
 * consumers' inbound RTP stats).
 */
import type { Browser, Page } from "playwright-core";
import { waitFor } from "./ports.js";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
export const MEDIA_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"];

/** What the app exposes for tests and the console, as seen from page.evaluate callbacks
 *  (type-only: no DOM lib here): its current LiveMedia, and every media state it went through. */
export interface PageGlobals {
  liveMedia?: { consumers: Map<string, { id: string; kind: "video" | "audio"; getStats(): Promise<Map<string, Record<string, number | string>>> }> };
  mediaStates?: string[];
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
  let last: Stats = {};
  return waitFor(`${what} decoding video and receiving audio`, async () => {
    const s = (last = await inbound(page));
    const fresh = !since?.video || s.video?.consumerId !== since.video.consumerId;
    if (fresh && (s.video?.framesDecoded ?? 0) > 20 && (s.audio?.packetsReceived ?? 0) > 20) return s;
    throw new Error(`last seen: ${JSON.stringify(last)}`); // said in the timeout's message
  }, 30_000, 250);
}

/** Logs a page of the app in (the account menu's form). */
export async function appLogin(page: Page, username: string, password: string): Promise<void> {
  await page.click("button.account");
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("form.login button[type=submit]");
  await page.waitForSelector(`.account:has-text("${username}")`);
}

/** A guest viewer on the app's watch page of this stream (WebRTC for a live stream). */
export async function viewerPage(browser: Browser, baseUrl: string, streamId: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${baseUrl}/app/watch/${streamId}`);
  await page.waitForSelector("video[aria-label='Live video']");
  return page;
}

/** The app's studio, logged in, live on this stream from the fake camera (or from whatever
 *  `initScript`, run in the page before the app, makes getUserMedia answer). */
export async function goLive(browser: Browser, baseUrl: string, username: string, password: string, streamId: string, initScript?: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  if (initScript) await page.addInitScript(initScript);
  await page.goto(`${baseUrl}/app/`);
  await appLogin(page, username, password);
  await page.goto(`${baseUrl}/app/studio`);
  await page.click(`.stream-list li:has(a[href='/app/watch/${streamId}']) button:text-is('Open studio')`);
  await page.click("button:text-is('Go live with camera')");
  await page.waitForSelector(".broadcast-state:text-is('live')", { timeout: 20_000 });
  return page;
}

/** Ends the broadcast from the studio page (its End stream button). */
export async function endLive(page: Page): Promise<void> {
  await page.click("button:text-is('End stream')");
  await page.waitForSelector(".broadcast-state:text-is('ended')");
}
