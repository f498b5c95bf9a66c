/**
 * Issue 20's viewer journeys in real Chromium against one embedded node (real encoder, real RTMP
 * ingest from ffmpeg): following a creator and being told over the WebSocket when they go live
 * (and not when muted), the studio's follower count, the Following row; resuming a video where it
 * was left and the Continue watching row (a finished video drops off); captions attached in the
 * studio (a bad file refused with its line) and shown by the player's captions menu; row
 * explanations. Screenshots at phone, desktop and TV sizes go to test/artifacts/.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { api, PlatformNode } from "../tools/harness/node.js";
import { freePort, waitFor } from "../tools/harness/ports.js";
import { makeClip, uploadAndWait } from "../tools/harness/vod.js";
import { WsClient } from "../tools/harness/ws-client.js";
import { publishRtmp, type Publisher } from "../tools/harness/encoders.js";
import { appLogin, CHROMIUM, MEDIA_ARGS } from "../tools/harness/media-pages.js";

const ARTIFACTS = path.join("test", "artifacts");
let node: PlatformNode;
let browser: Browser;
let rtmpPort = 0;
let video = "";
const publishers: Publisher[] = [];
const sockets: WsClient[] = [];
const users: Record<string, { id: string; token: string }> = {};
const tmp = mkdtempSync(path.join(os.tmpdir(), "esh-viewer-depth-"));

async function account(username: string, role: "viewer" | "creator"): Promise<{ id: string; token: string }> {
  await api(node.url, "POST", "/api/auth/register", { username, password: `${username} password 1`, role });
  const r = (await api(node.url, "POST", "/api/auth/login", { username, password: `${username} password 1` })).body as { accessToken: string; user: { id: string } };
  return (users[username] = { id: r.user.id, token: r.accessToken });
}

const SIZES = { phone: { width: 390, height: 844, isMobile: true }, desktop: { width: 1440, height: 900, isMobile: false }, tv: { width: 1920, height: 1080, isMobile: false } } as const;

/** The video element's playhead, seconds. */
const time = (p: Page) => p.evaluate<number>(`document.querySelector("video") ? document.querySelector("video").currentTime : 0`);

async function page(size: keyof typeof SIZES, at = "/app/", as?: string): Promise<Page> {
  const { width, height, isMobile } = SIZES[size];
  const p = await (await browser.newContext({ viewport: { width, height }, isMobile, hasTouch: isMobile })).newPage();
  p.on("pageerror", (e) => console.log(`# page error (${size}): ${e.message}`));
  const url = `${node.url}${at}${size === "tv" ? `${at.includes("?") ? "&" : "?"}tv=1` : ""}`;
  if (as) {
    // Logged in first (as a returning user is): what the page then does is theirs, not a guest's.
    await p.goto(`${node.url}/app/`);
    await appLogin(p, as, `${as} password 1`);
  }
  await p.goto(url);
  if (as) await p.waitForSelector(`.account:has-text("${as}")`); // the stored login restored
  return p;
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  rtmpPort = await freePort();
  // Live HLS on (the default; the harness turns it off): live cards' frames come from its packager.
  node = await PlatformNode.start({ env: { ESH_MEDIA_RTMP_PORT: String(rtmpPort), ESH_MEDIA_LIVE_HLS: "true", ESH_MEDIA_RECORD_LIVE: "false", ESH_GATEWAY_AUTH_BURST_PER_IP: "200", ESH_GATEWAY_HTTP_BURST_PER_USER: "400" } });
  await account("cat", "creator");
  await account("vic", "viewer");
  await account("moe", "viewer");
  video = await uploadAndWait(node.url, users.cat?.token ?? "", makeClip(60, "320x180"), "Sixty seconds of cat");
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
});

after(async () => {
  for (const p of publishers) p.stop();
  for (const s of sockets) s.close();
  await browser.close();
  await node.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("follows and live notifications", () => {
  it("refuses what is not a follow: guests, yourself, a viewer, a bad id; counts followers", async () => {
    const cat = users.cat?.id ?? "";
    const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    const code = (r: { body: Record<string, unknown> }) => (r.body.error as { code?: string } | undefined)?.code;
    assert.equal(code(await api(node.url, "PUT", `/api/follows/${cat}`, undefined, guest)), "FORBIDDEN");
    assert.equal(code(await api(node.url, "PUT", `/api/follows/${cat}`, undefined, users.cat?.token)), "BAD_REQUEST");
    assert.equal(code(await api(node.url, "PUT", `/api/follows/${users.moe?.id ?? ""}`, undefined, users.vic?.token)), "NOT_FOUND");
    assert.equal((await api(node.url, "PUT", `/api/follows/${"x".repeat(65)}`, undefined, users.vic?.token)).status, 400);
    assert.equal(code(await api(node.url, "PATCH", `/api/follows/${cat}`, { muted: true }, users.vic?.token)), "NOT_FOUND");
    const none = (await api(node.url, "GET", `/api/creators/${cat}/followers`)).body;
    assert.deepEqual(none, { creatorId: cat, count: 0, following: false, muted: false });
  });

  it("a viewer follows from the watch page; a muted follower is not told; the follower is told over the WebSocket when the creator goes live, and the app shows it", async () => {
    const cat = users.cat?.id ?? "";
    // vic follows in the app, on the video's page (phone size).
    const watch = await page("phone", `/app/watch/${video}`, "vic");
    await watch.click(".follow button:text-is('Follow')");
    await watch.waitForSelector(".follow button:text-is('Following')");
    assert.match((await watch.textContent(".follow .followers")) ?? "", /^1 follower$/);
    await watch.screenshot({ path: path.join(ARTIFACTS, "viewer-follow-phone.png") });
    await watch.context().close();
    // mo follows and mutes over the API.
    assert.equal((await api(node.url, "PUT", `/api/follows/${cat}`, undefined, users.moe?.token)).status, 200);
    assert.equal(((await api(node.url, "PATCH", `/api/follows/${cat}`, { muted: true }, users.moe?.token)).body as { muted: boolean }).muted, true);
    const mine = (await api(node.url, "GET", "/api/follows", undefined, users.vic?.token)).body as unknown as { creatorId: string; creatorName: string; muted: boolean }[];
    assert.deepEqual(mine.map((f) => [f.creatorId, f.creatorName, f.muted]), [[cat, "cat", false]]);
    // The studio shows the creator their follower count.
    const studio = await page("desktop", "/app/studio", "cat");
    await studio.waitForSelector(".followers-count:text-is('2 followers')");
    await studio.context().close();

    // vic: the app open on the home page (desktop) and a second session over a raw WebSocket; mo: a socket.
    const home = await page("desktop", "/app/", "vic");
    await home.waitForSelector(".notifications[data-connected=true]", { state: "attached" }).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; the region: ${await home.evaluate<string>(`(document.querySelector(".notifications") || {}).outerHTML || "none"`)}; account: ${String(await home.textContent(".account"))}`);
    }); // the app's socket is open
    const vicWs = await WsClient.connect(`${node.url.replace("http", "ws")}/ws`, { token: users.vic?.token ?? "", json: true });
    const moWs = await WsClient.connect(`${node.url.replace("http", "ws")}/ws`, { token: users.moe?.token ?? "", json: true });
    sockets.push(vicWs, moWs);
    const show = (await api(node.url, "POST", "/api/streams", { title: "Cat live at night", kind: "live" }, users.cat?.token)).body.id as string;
    const key = ((await api(node.url, "GET", `/api/streams/${show}/key`, undefined, users.cat?.token)).body as { key: string }).key;
    const toldVic = vicWs.next((f) => f.t === "notify", 60_000);
    publishers.push(publishRtmp(`rtmp://127.0.0.1:${String(rtmpPort)}/live/${key}`, { seconds: 120 }));
    const told = await toldVic;
    const received = Date.now();
    const stream = (await api(node.url, "GET", `/api/streams/${show}`)).body as { status: string; updatedAt: number };
    assert.equal(stream.status, "live");
    assert.deepEqual({ ...(told.d as Record<string, unknown>), at: 0 }, { kind: "live", streamId: show, title: "Cat live at night", creatorId: cat, creatorName: "cat", at: 0 });
    console.log(`# live notification: ${String(received - stream.updatedAt)} ms from the catalog's status change to the follower's socket`);
    // The app shows it; its link opens the show.
    await home.waitForSelector(".notification a:has-text('cat is live: Cat live at night')", { timeout: 10_000 });
    await home.screenshot({ path: path.join(ARTIFACTS, "viewer-notification-desktop.png") });
    await home.click(".notification a");
    await home.waitForSelector("h1:text-is('Cat live at night')");
    await home.context().close();
    // mo muted cat: nothing came (waited as long again as vic's took, and 2 s more).
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(moWs.frames.filter((f) => f.t === "notify").length, 0, "a muted follower is not told");
  });

  it("home has a Following row, explained, with the creator's live show first", async () => {
    const home = await page("tv", "/app/", "vic");
    await home.waitForSelector("section[aria-label='Following'] .card");
    const titles = await home.evaluate<string[]>(`[...document.querySelectorAll("section[aria-label='Following'] .card-title")].map((e) => e.textContent)`);
    assert.deepEqual(titles, ["Cat live at night", "Sixty seconds of cat"]);
    assert.equal(await home.textContent("section[aria-label='Following'] .row-why"), "New from creators you follow: cat");
    await home.screenshot({ path: path.join(ARTIFACTS, "viewer-following-tv.png") });
    await home.context().close();
  });
});

describe("cards", () => {
  it("a live card shows a fresh frame of the show (a 320 px image renewed every 30 s), its viewer count and creator; a video card scrubs its sprite on hover", async () => {
    const show = ((await api(node.url, "GET", "/api/search?kind=live")).body as { items: { id: string }[] }).items[0]?.id ?? "";
    const frame = await waitFor("the live card image", async () => {
      const r = await fetch(`${node.url}/live/${show}/card.jpg`);
      return r.status === 200 ? r : undefined;
    }, 60_000, 500);
    assert.equal(frame.headers.get("content-type"), "image/jpeg");
    assert.equal(frame.headers.get("cache-control"), "public, max-age=10");
    const jpeg = Buffer.from(await frame.arrayBuffer());
    assert.ok(jpeg.length > 500 && jpeg.length < 60_000, `${String(jpeg.length)} bytes`);
    // A WebRTC viewer of the show: the catalog counts them.
    const viewer = await page("desktop", `/app/watch/${show}`);
    await waitFor("the viewer counted", async () => {
      const s = (await api(node.url, "GET", `/api/streams/${show}`)).body as { viewers?: number };
      return (s.viewers ?? 0) >= 1 ? true : undefined;
    }, 30_000, 500);
    const home = await page("desktop", "/app/");
    const card = `section[aria-label='Live now'] a.card[aria-label^='Live: Cat live at night, by cat, ']`;
    await home.waitForSelector(card);
    assert.match((await home.getAttribute(card, "aria-label")) ?? "", /, [1-9]\d* watching$/);
    await waitFor("the live frame drawn", async () => ((await home.evaluate<number>(`(document.querySelector("section[aria-label='Live now'] .thumb img") || {}).naturalWidth || 0`)) === 320 ? true : undefined), 20_000, 250);
    await home.screenshot({ path: path.join(ARTIFACTS, "viewer-cards-desktop.png") });
    // The video's card: hovering scrubs the sprite (and the corner shows the time under the pointer).
    const vodCard = `a.card[aria-label^='Watch: Sixty seconds of cat']`;
    await home.waitForSelector(vodCard);
    const vodEl = home.locator(vodCard).first();
    const box = await vodEl.boundingBox();
    assert.ok(box);
    await vodEl.hover({ position: { x: box.width * 0.6, y: box.height * 0.4 } }); // 60% across the picture (the top-right corner is "Not interested")
    await vodEl.locator(".scrub").waitFor();
    assert.match((await vodEl.locator(".scrub").getAttribute("style")) ?? "", /sprite\.jpg/);
    assert.match((await vodEl.locator(".duration").textContent()) ?? "", /^0:3\d$/, "the time under the pointer: tile 15 of 25 of 60 s");
    await home.context().close();
    await viewer.context().close();
  });
});

describe("resume and continue watching", () => {
  it("a video resumes where the viewer left it, home offers it under Continue watching, and it drops off once finished", async () => {
    const p = await page("desktop", `/app/watch/${video}`, "vic");
    await waitFor("playback", async () => ((await time(p)) > 0.5 ? true : undefined), 30_000, 200);
    await p.evaluate(`document.querySelector("video").currentTime = 20`);
    await waitFor("the seek", async () => ((await time(p)) > 21 ? true : undefined), 20_000, 200);
    await p.evaluate(`document.querySelector("video").pause()`);
    const left = await time(p);
    // Home (in-app navigation: the player ends its view and sends it).
    await p.click("nav.main-nav a:text-is('Home')");
    const row = "section[aria-label='Continue watching']";
    await waitFor("Continue watching", async () => {
      await p.goto(`${node.url}/app/`);
      return (await p.$(`${row} .card`)) ? true : undefined;
    }, 20_000, 1000).catch(async (err: unknown) => {
      const recs = (await api(node.url, "GET", "/api/recommendations", undefined, users.vic?.token)).body as { rows?: { title: string }[] };
      const resume = (await api(node.url, "GET", `/api/resume/${video}`, undefined, users.vic?.token)).body;
      throw new Error(`${String(err)}; left at ${String(left)} s; resume ${JSON.stringify(resume)}; rows ${JSON.stringify(recs.rows?.map((r) => r.title))}`);
    });
    assert.equal(await p.textContent(`${row} .card-title`), "Sixty seconds of cat");
    assert.match((await p.getAttribute(`${row} a.card`, "aria-label")) ?? "", /^Resume at 0:2\d: Sixty seconds of cat, by cat$/);
    assert.equal(await p.textContent(`${row} .row-why`), "Pick up where you left off");
    await p.screenshot({ path: path.join(ARTIFACTS, "viewer-continue-desktop.png") });
    // The API says the same.
    const at = ((await api(node.url, "GET", `/api/resume/${video}`, undefined, users.vic?.token)).body as { positionSec: number | null }).positionSec ?? 0;
    assert.ok(Math.abs(at - left) < 1.5, `resume ${String(at)} s, left at ${String(left)} s`);
    // Back on the video: it starts there.
    await p.click(`${row} a.card`);
    await p.waitForSelector(".resume:has-text('Resumed at')");
    await waitFor("playing from where it was left", async () => {
      const t = await time(p);
      return t >= left - 1 ? t : undefined;
    }, 30_000, 200);
    // Watched to the end: it leaves Continue watching.
    await p.evaluate(`document.querySelector("video").currentTime = 59`);
    await waitFor("the end", async () => ((await p.evaluate<boolean>(`document.querySelector("video").ended`)) ? true : undefined), 30_000, 200);
    await p.click("nav.main-nav a:text-is('Home')");
    await waitFor("Continue watching without the finished video", async () => {
      await p.goto(`${node.url}/app/`);
      await p.waitForSelector("section.row");
      return (await p.$(row)) ? undefined : true;
    }, 20_000, 1000);
    assert.equal(((await api(node.url, "GET", `/api/resume/${video}`, undefined, users.vic?.token)).body as { positionSec: number | null }).positionSec, null);
    await p.context().close();
  });
});

describe("captions", () => {
  it("the creator attaches WebVTT in the studio (a bad file refused with its line); the master announces it; the player's menu shows it", async () => {
    const bad = path.join(tmp, "bad.vtt");
    const good = path.join(tmp, "en.vtt");
    writeFileSync(bad, "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nfine\n\n00:00:05.000 -> 00:00:09.000\nan arrow too short\n");
    writeFileSync(good, "WEBVTT\n\n00:00:00.000 --> 00:00:30.000\nHello from the captions\n\n00:00:30.000 --> 00:01:00.000\nStill here\n");
    const studio = await page("desktop", "/app/studio", "cat");
    const form = `form[aria-label='Add captions to Sixty seconds of cat']`;
    await studio.click(`details.captions:has(${form}) summary`);
    const fill = async (file: string) => {
      await studio.fill(`${form} input[name=lang]`, "en");
      await studio.fill(`${form} input[name=label]`, "English");
      await studio.setInputFiles(`${form} input[name=vtt]`, file);
      await studio.click(`${form} button[type=submit]`);
    };
    await fill(bad);
    const refusal = await studio.waitForSelector(`details.captions:has(${form}) [role=alert]`);
    assert.match((await refusal.textContent()) ?? "", /^Not valid WebVTT: line 7/);
    await fill(good);
    await studio.waitForSelector("details.captions summary:text-is('Captions (en)')");
    await studio.context().close();
    // Any HLS player finds them in the master.
    const master = await (await fetch(`${node.url}/vod/${video}/master.m3u8`)).text();
    assert.match(master, /#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,URI="subs\/en.m3u8"/);
    assert.ok(master.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF")).every((l) => l.endsWith(',SUBTITLES="subs"')), master);
    const playlist = await (await fetch(`${node.url}/vod/${video}/subs/en.m3u8`)).text();
    assert.match(playlist, /#EXTINF:60\.\d+,\nen\.vtt\n#EXT-X-ENDLIST/);
    const vtt = await fetch(`${node.url}/vod/${video}/subs/en.vtt`);
    assert.equal(vtt.headers.get("content-type"), "text/vtt; charset=utf-8");
    assert.match(await vtt.text(), /Hello from the captions/);
    // A stranger cannot attach captions.
    assert.equal((await api(node.url, "PUT", `/api/streams/${video}/captions/fr`, { label: "Français", vtt: "WEBVTT\n\n00:01.000 --> 00:02.000\nx\n" }, users.vic?.token)).status, 403);
    // The player: the menu lists English; choosing it shows the cue.
    const p = await page("phone", `/app/watch/${video}`, "moe");
    await p.waitForSelector("select[aria-label=Captions] option:text-is('English')", { state: "attached" });
    await p.selectOption("select[aria-label=Captions]", "en");
    const cue = await waitFor("a caption on screen", async () => {
      const text = await p.evaluate<string>(`(() => {
        const t = [...document.querySelector("video").textTracks].find((x) => x.mode === "showing");
        return t && t.activeCues && t.activeCues[0] ? t.activeCues[0].text : "";
      })()`);
      return text || undefined;
    }, 30_000, 200);
    assert.match(cue, /Hello from the captions|Still here/);
    await p.screenshot({ path: path.join(ARTIFACTS, "viewer-captions-phone.png") });
    await p.context().close();
  });
});
