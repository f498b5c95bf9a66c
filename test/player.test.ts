/**
 * The HLS player in real headless Chromium: the watch page plays an encrypted ladder (keys
 * with a guest token), starts low and climbs, offers the levels in its quality menu, and
 * drops to a lower level when the network is throttled (CDP network emulation).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM } from "../tools/harness/media-pages.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { makeClip, uploadAndWait } from "../tools/harness/vod.js";

let node: PlatformNode;
let browser: Browser;
let videoId: string;

interface PlayerState { level: number; loadLevel: number; levels: number; time: number; buffered: number }

function state(page: Page): Promise<PlayerState> {
  return page.evaluate(() => {
    const g = globalThis as unknown as { player?: { level: number; loadLevel: number; levels: unknown[] }; document: { querySelector(s: string): { currentTime: number; buffered: { length: number; end(i: number): number } } | null } };
    const v = g.document.querySelector("video");
    const b = v?.buffered;
    return { level: g.player?.level ?? -1, loadLevel: g.player?.loadLevel ?? -1, levels: g.player?.levels.length ?? 0, time: v?.currentTime ?? 0, buffered: b && b.length ? b.end(b.length - 1) : 0 };
  });
}

before(async () => {
  node = await PlatformNode.start({ env: { ADMIN_USER: "admin", ADMIN_PASSWORD: "player admin pw", ESH_GATEWAY_AUTH_BURST_PER_IP: "100", ESH_GATEWAY_HTTP_BURST_PER_IP: "10000", ESH_GATEWAY_HTTP_RATE_PER_IP: "10000" } });
  await api(node.url, "POST", "/api/auth/register", { username: "studio", password: "studio password 1", role: "creator" });
  const token = (await api(node.url, "POST", "/api/auth/login", { username: "studio", password: "studio password 1" })).body.accessToken as string;
  // 480p source: a 240p + 480p ladder, long enough to keep loading after the throttle.
  videoId = await uploadAndWait(node.url, token, makeClip(40, "854x480", true), "Player test");
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"] });
});

after(async () => {
  await browser.close();
  await node.stop();
});

describe("HLS player in Chromium", () => {
  it("plays the encrypted ladder, lists its levels, climbs, and drops a level when throttled", async () => {
    const page = await (await browser.newContext()).newPage();
    const keyRequests: number[] = [];
    page.on("response", (r) => {
      if (r.url().includes("/api/keys/")) keyRequests.push(r.status());
    });
    // A short buffer (6 s ahead), so fragments keep being fetched while the test throttles.
    await page.goto(`${node.url}/app/watch/${videoId}?buffer=6`);
    const playing = await waitFor("playback past 1 s", async () => {
      const s = await state(page);
      return s.time > 1 ? s : undefined;
    }, 30_000, 200);
    assert.equal(playing.levels, 2);
    assert.ok(keyRequests.length > 0 && keyRequests.every((s) => s === 200), `key answers ${keyRequests.join(",")}`);
    const options = await page.$$eval(".player select[aria-label=Quality] option", (os) => os.map((o) => (o as unknown as { textContent: string }).textContent));
    assert.deepEqual(options, ["auto", "240p", "480p"]);
    await waitFor("ABR climbing to 480p", async () => ((await state(page)).level === 1 ? true : undefined), 20_000, 200);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 40, downloadThroughput: (400 * 1024) / 8, uploadThroughput: -1 });
    let last: PlayerState | undefined;
    await waitFor("ABR dropping to 240p under throttle", async () => {
      last = await state(page);
      return last.loadLevel === 0 ? true : undefined;
    }, 40_000, 250).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify(last)}`);
    });
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  });

  it("the app's watch page reports its view: start, startup time, rendition switches, and view.end by sendBeacon on exit", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${node.url}/app/watch/${videoId}?buffer=6`);
    await waitFor("playback past 3 s", async () => ((await state(page)).time > 3 ? true : undefined), 30_000, 200);
    await page.close({ runBeforeUnload: true }); // pagehide: the view ends, the rest goes by beacon
    const admin = (await api(node.url, "POST", "/api/auth/login", { username: "admin", password: "player admin pw" })).body.accessToken as string;
    const rows = await waitFor("the view's events in the store", async () => {
      const r = await api(node.url, "POST", "/api/analytics/query", { sql: `SELECT type, count() AS n, max(duration_ms) AS d, any(device) AS dev, any(browser) AS b, any(protocol) AS p FROM events WHERE stream_id = '${videoId}' GROUP BY type` }, admin);
      const byType = new Map((r.body.rows as [string, number, number, string, string, string][]).map((x) => [x[0], x]));
      return byType.has("view.start") && byType.has("startup") && byType.has("view.end") ? byType : undefined;
    }, 20_000, 300);
    const startup = rows.get("startup");
    assert.ok(startup && startup[2] > 0 && startup[2] < 30_000, `startup time ${String(startup?.[2])} ms`);
    assert.deepEqual(startup.slice(3), ["desktop", "chrome", "hls"]);
    assert.ok(rows.has("quality"), `ABR climbed, so a rendition switch was reported: ${JSON.stringify([...rows.keys()])}`);
  });
});
