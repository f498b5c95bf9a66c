/**
 * The web app's journeys end to end in real headless Chromium (fake camera and microphone),
 * against a real node (mediasoup, ffmpeg, chdb):
 *   - a guest opens a video from home, watches it and chats and reacts (phone);
 *   - a creator logs in, uploads a video (upload and encoding progress), goes live with the
 *     camera, a guest watches the live video, the creator runs a poll the guest votes in, and
 *     deletes the guest's message;
 *   - an admin sees the dashboard move as people chat, and changes a user's role;
 *   - with 5-second access tokens, a user's typed chat survives several expiries and a reload,
 *     and is sent once;
 *   - a chat message the server holds back (rate limited) survives a reload in the outbox, and is
 *     sent once after the wait.
 * Screenshots of the watch, studio and admin screens at phone, tablet, desktop and TV sizes are
 * checked for layout and kept in test/artifacts/.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM, MEDIA_ARGS, playing } from "../tools/harness/media-pages.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { WsClient } from "../tools/harness/ws-client.js";
import { makeClip, uploadAndWait } from "../tools/harness/vod.js";

const ARTIFACTS = path.join("test", "artifacts");
let node: PlatformNode;
let browser: Browser;
let vodId = "";
const contexts: BrowserContext[] = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  node = await PlatformNode.start({ env: { ESH_GATEWAY_AUTH_BURST_PER_IP: "200", ESH_VOD_ENCODER_CONCURRENCY: "2", ADMIN_USER: "boss", ADMIN_PASSWORD: "boss password 1" } });
  await api(node.url, "POST", "/api/auth/register", { username: "maker", password: "maker password 1", role: "creator" });
  await api(node.url, "POST", "/api/auth/register", { username: "fan", password: "fan password 12" });
  const token = (await api(node.url, "POST", "/api/auth/login", { username: "maker", password: "maker password 1" })).body.accessToken as string;
  vodId = await uploadAndWait(node.url, token, makeClip(6, "640x360"), "Ocean documentary");
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser.close();
  await node.stop();
});

const SIZES = {
  phone: { width: 390, height: 844, isMobile: true, hasTouch: true },
  tablet: { width: 820, height: 1180, isMobile: true, hasTouch: true },
  desktop: { width: 1440, height: 900, isMobile: false, hasTouch: false },
  tv: { width: 1920, height: 1080, isMobile: false, hasTouch: false },
} as const;

async function newPage(size: keyof typeof SIZES = "desktop", base = node.url, pathAndQuery = "/app/"): Promise<Page> {
  const { width, height, isMobile, hasTouch } = SIZES[size];
  const ctx = await browser.newContext({ viewport: { width, height }, isMobile, hasTouch });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.log(`# page error (${size}): ${e.message}`));
  await page.goto(base + pathAndQuery);
  return page;
}

async function login(page: Page, username: string, password: string): Promise<void> {
  await page.click("button.account");
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("form.login button[type=submit]");
  await page.waitForSelector(`.account:has-text("${username}")`);
}

async function chat(page: Page, text: string): Promise<void> {
  await page.fill("#chat-input", text);
  await page.press("#chat-input", "Enter");
  await page.waitForSelector(`.messages li[data-seq] .text:text-is("${text}")`);
}

/** A screenshot, and the layout it shows: nothing wider than the screen, the named controls visible. */
async function checkLayout(page: Page, name: string, mustSee: string[]): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `app-${name}.png`), fullPage: true });
  const r = await page.evaluate<{ overflow: number; hidden: string[]; unnamed: string[] }, string[]>((sels) => {
    const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number }; querySelector(s: string): { getBoundingClientRect(): { width: number; left: number; right: number } } | null; querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null; textContent: string | null; id: string; outerHTML: string }> } }).document;
    const vw = (globalThis as unknown as { innerWidth: number }).innerWidth;
    const hidden = sels.filter((s) => {
      const b = doc.querySelector(s)?.getBoundingClientRect();
      return !b || b.width === 0 || b.left < 0 || b.right > vw + 0.5;
    });
    const unnamed = Array.from(doc.querySelectorAll("a, button, input, select"))
      .filter((e) => !(e.getAttribute("aria-label") ?? e.textContent?.trim() ?? "") && !(e.id && doc.querySelector(`label[for="${e.id}"]`)) && e.getAttribute("type") !== "hidden")
      .map((e) => e.outerHTML.slice(0, 80));
    return { overflow: doc.documentElement.scrollWidth - vw, hidden, unnamed };
  }, mustSee);
  assert.ok(r.overflow <= 0, `${name}: ${String(r.overflow)} px wider than the screen`);
  assert.deepEqual(r.hidden, [], `${name}: controls off screen`);
  assert.deepEqual(r.unnamed, [], `${name}: controls without an accessible name`);
}

const videoTime = (page: Page) => page.evaluate<number>("document.querySelector('video')?.currentTime ?? 0");

describe("web app journeys", () => {
  it("a guest opens a video from home, watches it, chats and reacts (phone)", async () => {
    const page = await newPage("phone");
    await page.click(`a.card[href='/app/watch/${vodId}']`);
    await page.waitForURL(`**/app/watch/${vodId}`);
    await waitFor("the video playing", async () => ((await videoTime(page)) > 1 ? true : undefined), 30_000, 250);
    await chat(page, "hello from a guest");
    await page.click("button[aria-label='React 🔥']");
    await page.waitForSelector(".reaction-counts span:has-text('🔥')");
    await checkLayout(page, "watch-phone", ["#chat-input", "video", ".reaction-buttons button"]);
    for (const size of ["tablet", "desktop", "tv"] as const) {
      const p = await newPage(size, node.url, `/app/watch/${vodId}${size === "tv" ? "?tv=1" : ""}`);
      await p.waitForSelector(".messages li[data-seq]");
      await checkLayout(p, `watch-${size}`, ["#chat-input", "video", ".reaction-buttons button"]);
      await p.context().close();
    }
  });

  it("a creator logs in, uploads with progress, goes live, runs a poll and moderates; a viewer watches live and votes", async () => {
    const studio = await newPage("desktop");
    await login(studio, "maker", "maker password 1");
    await studio.click("nav.main-nav a[href='/app/studio']");
    await studio.waitForSelector("section[aria-label='Your streams']");
    // Upload: the tus progress reaches the file's size, then the encoder's progress reaches done.
    await studio.fill("section[aria-label='Upload a video'] input[name=title]", "Studio upload");
    await studio.setInputFiles("input[name=file]", { name: "clip.mp4", mimeType: "video/mp4", buffer: makeClip(4, "640x360") });
    await studio.click("section[aria-label='Upload a video'] button[type=submit]");
    await studio.waitForSelector(".encode-state:text-is('done')", { timeout: 120_000 });
    assert.equal(await studio.getAttribute("progress[aria-label='Upload progress']", "value"), "100");
    assert.ok(await studio.isVisible("a:text-is('Watch it')"));
    // The creator makes the upload private and lets the fan watch it, from the studio.
    await studio.selectOption("select[aria-label='Visibility of Studio upload']", "private");
    await studio.fill("input[aria-label='Usernames who may watch Studio upload']", "fan");
    await studio.click("form[aria-label='Who may watch Studio upload'] button[type=submit]");
    const makerToken = (await api(node.url, "POST", "/api/auth/login", { username: "maker", password: "maker password 1" })).body.accessToken as string;
    const uploaded = await waitFor("the upload private, granted to fan", async () => {
      const mine = (await api(node.url, "GET", "/api/streams?ownerId=" + encodeURIComponent(((await api(node.url, "GET", "/api/auth/me", undefined, makerToken)).body.principal as { userId: string }).userId), undefined, makerToken)).body as unknown as { id: string; title: string; visibility?: string; grantNames?: string[] }[];
      const s = mine.find((x) => x.title === "Studio upload");
      return s?.visibility === "private" && s.grantNames?.join() === "fan" ? s : undefined;
    }, 10_000, 250);
    assert.equal((await api(node.url, "GET", `/api/streams/${uploaded.id}`)).status, 404, "hidden from everyone else");
    // Go live with the (fake) camera.
    await studio.fill("input[name=title][aria-label='Stream title']", "Creator live");
    await studio.click("form[aria-label='New live stream'] button[type=submit]");
    await studio.click("button:text-is('Go live with camera')");
    await studio.waitForSelector(".broadcast-state:text-is('live')", { timeout: 30_000 });
    const liveHref = (await studio.getAttribute(".stream-list li.selected a", "href")) ?? "";
    const liveId = liveHref.split("/").pop() ?? "";
    assert.ok(liveId);
    await checkLayout(studio, "studio-desktop", [".golive button.danger", "#chat-input", "input[aria-label='Poll question']"]);
    // A guest cannot vote; a logged-in viewer watches the live video over WebRTC, and is counted.
    const viewer = await newPage("tablet");
    await login(viewer, "fan", "fan password 12");
    await viewer.goto(`${node.url}/app/watch/${liveId}`);
    await playing(viewer, "the viewer");
    await studio.waitForSelector(".viewers:text-is('2 watching')", { timeout: 15_000 });
    await checkLayout(viewer, "watch-live-tablet", ["#chat-input", "video", ".player select"]);
    // A poll: the creator opens it, the guest votes, the creator sees the tally, then closes it.
    await studio.fill("input[aria-label='Poll question']", "Next topic?");
    await studio.fill("input[aria-label='Poll options, comma separated']", "cats, dogs");
    await studio.click("form[aria-label='New poll'] button[type=submit]");
    const guest = await newPage("phone", node.url, `/app/watch/${liveId}`);
    await guest.waitForSelector(".poll button[aria-label^='Vote dogs']:disabled");
    assert.ok(await guest.isVisible(".poll :text('Log in to vote')"));
    await viewer.click("button[aria-label^='Vote dogs']");
    await studio.waitForSelector(".poll button[aria-label='Vote dogs: 1 votes']");
    await studio.click(".poll button:text-is('Close poll')");
    await viewer.waitForSelector(".poll strong:has-text('(closed)')");
    // Moderation: the guest's message is deleted by the creator, for everyone.
    await chat(viewer, "buy cheap followers");
    await studio.click(".messages li:has-text('buy cheap followers') button[aria-label='Delete message']");
    await viewer.waitForSelector(".messages li.deleted .text:text-is('message deleted')");
    await studio.click("button:text-is('End stream')");
    await viewer.waitForSelector(".live-state:text-is('the stream has ended')", { timeout: 15_000 });
  });

  it("the studio renames and deletes in the app's own dialogs (never the browser's prompt or confirm)", async () => {
    const token = (await api(node.url, "POST", "/api/auth/login", { username: "maker", password: "maker password 1" })).body.accessToken as string;
    await api(node.url, "POST", "/api/streams", { title: "Rename me", kind: "live" }, token);
    const studio = await newPage("desktop");
    const native: string[] = [];
    studio.on("dialog", (d) => {
      native.push(d.message());
      void d.dismiss();
    });
    await login(studio, "maker", "maker password 1");
    await studio.click("nav.main-nav a[href='/app/studio']");
    await studio.click("button[aria-label='Rename Rename me']");
    const rename = studio.getByRole("dialog", { name: "Rename “Rename me”" });
    await rename.getByLabel("New title").fill("Renamed show");
    await rename.getByRole("button", { name: "Rename" }).click();
    await studio.waitForSelector("a:text-is('Renamed show')");
    // Cancel leaves it; Delete in the dialog deletes it.
    await studio.click("button[aria-label='Delete Renamed show']");
    await studio.getByRole("dialog", { name: "Delete “Renamed show”?" }).getByRole("button", { name: "Cancel" }).click();
    assert.ok(await studio.isVisible("a:text-is('Renamed show')"));
    await studio.click("button[aria-label='Delete Renamed show']");
    await studio.getByRole("dialog", { name: "Delete “Renamed show”?" }).getByRole("button", { name: "Delete" }).click();
    await studio.waitForSelector("a:text-is('Renamed show')", { state: "detached" });
    assert.deepEqual(native, [], "no native dialog was opened");
  });

  it("an admin sees the dashboard move as people chat, and changes a user's role", async () => {
    const admin = await newPage("desktop");
    await login(admin, "boss", "boss password 1");
    await admin.click("nav.main-nav a[href='/app/admin']");
    await admin.waitForSelector(".status-grid .stored");
    const read = async () => ({ stored: Number(await admin.textContent(".status-grid .stored")), chats: Number(await admin.textContent(".status-grid .chats")) });
    const before = await read();
    const guest = await newPage("phone", node.url, `/app/watch/${vodId}`);
    for (let i = 0; i < 3; i++) await chat(guest, `dashboard check ${String(i)}`);
    const moved = await waitFor("the dashboard counting the new chats", async () => {
      const now = await read();
      return now.chats >= before.chats + 3 && now.stored > before.stored ? now : undefined;
    }, 60_000, 500);
    console.log(`# dashboard moved: chats ${String(before.chats)} -> ${String(moved.chats)}, events stored ${String(before.stored)} -> ${String(moved.stored)}`);
    await admin.waitForSelector(".chart canvas");
    for (const size of ["phone", "tv"] as const) {
      const p = await newPage(size, node.url, "/app/");
      await login(p, "boss", "boss password 1");
      await p.click("nav.main-nav a[href='/app/admin']");
      await p.waitForSelector(".status-grid .stored");
      await checkLayout(p, `admin-${size}`, ["select[aria-label='Window']", "select[aria-label='Role of fan']"]);
      await p.context().close();
    }
    await checkLayout(admin, "admin-desktop", ["select[aria-label='Window']", "select[aria-label='Role of fan']"]);
    await admin.selectOption("select[aria-label='Role of fan']", "creator");
    await admin.waitForSelector("[role=status]:text-is('fan is now creator')");
    const token = (await api(node.url, "POST", "/api/auth/login", { username: "boss", password: "boss password 1" })).body.accessToken as string;
    const users = (await api(node.url, "GET", "/api/admin/users", undefined, token)).body as unknown as { username: string; role: string }[];
    assert.equal(users.find((u) => u.username === "fan")?.role, "creator");
  });
});

describe("the chat outbox in the web app", () => {
  it("a message the server holds back (rate limited) survives a reload in the outbox and is sent once, after the wait", async () => {
    const slow = await PlatformNode.start({ env: { ESH_ROOMS_CHAT_RATE_PER_SEC: "0.2", ESH_ROOMS_CHAT_BURST: "1", ESH_GATEWAY_AUTH_BURST_PER_IP: "200" } });
    try {
      await api(slow.url, "POST", "/api/auth/register", { username: "talker", password: "talker password 1", role: "creator" });
      const token = (await api(slow.url, "POST", "/api/auth/login", { username: "talker", password: "talker password 1" })).body.accessToken as string;
      const streamId = ((await api(slow.url, "POST", "/api/streams", { title: "Slow room", kind: "live" }, token)).body as { id: string }).id;
      const page = await newPage("desktop", slow.url);
      await login(page, "talker", "talker password 1");
      await page.goto(`${slow.url}/app/watch/${streamId}`);
      await chat(page, "first");
      await page.fill("#chat-input", "second, held back");
      await page.press("#chat-input", "Enter");
      await page.waitForSelector('.messages li.pending .text:text-is("second, held back")');
      await page.reload();
      await page.waitForSelector('.messages li.pending .text:text-is("second, held back")'); // still queued after the reload
      await page.waitForSelector('.messages li[data-seq] .text:text-is("second, held back")', { timeout: 20_000 }); // sent once the wait is over
      const guest = (await api(slow.url, "POST", "/api/auth/guest")).body.accessToken as string;
      const ws = await WsClient.connect(slow.wsUrl, { token: guest });
      const joined = (await ws.request("room.join", { room: streamId })).d as { events: { kind: string; text?: string }[] };
      ws.close();
      assert.deepEqual(joined.events.filter((e) => e.kind === "chat").map((e) => e.text), ["first", "second, held back"], "stored once");
      await page.context().close();
    } finally {
      await slow.stop();
    }
  });
});

describe("session expiry in the web app", () => {
  it("typed chat survives access tokens expiring and a reload, and is sent once", async () => {
    const short = await PlatformNode.start({ env: { ESH_AUTH_ACCESS_TTL_SEC: "5", ESH_GATEWAY_AUTH_BURST_PER_IP: "200" } });
    try {
      await api(short.url, "POST", "/api/auth/register", { username: "typist", password: "typist password 1", role: "creator" });
      const token = (await api(short.url, "POST", "/api/auth/login", { username: "typist", password: "typist password 1" })).body.accessToken as string;
      const streamId = ((await api(short.url, "POST", "/api/streams", { title: "Talk show", kind: "live" }, token)).body as { id: string }).id;
      const page = await newPage("desktop", short.url);
      let refreshes = 0;
      page.on("request", (r) => {
        if (r.url().endsWith("/api/auth/refresh")) refreshes++;
      });
      await login(page, "typist", "typist password 1");
      await page.goto(`${short.url}/app/watch/${streamId}`);
      await chat(page, "first, before any expiry");
      const draft = "a long thought typed slowly while the token expires";
      await page.fill("#chat-input", draft);
      await new Promise((r) => setTimeout(r, 12_000)); // more than two token lifetimes
      assert.equal(await page.inputValue("#chat-input"), draft, "the draft is still in the composer");
      await page.reload();
      await page.waitForSelector(".messages li[data-seq]");
      assert.equal(await page.inputValue("#chat-input"), draft, "the draft survives a reload");
      await page.press("#chat-input", "Enter");
      await page.waitForSelector(`.messages li[data-seq] .text:text-is("${draft}")`);
      assert.ok(refreshes >= 2, `the app refreshed its tokens (${String(refreshes)} refreshes)`);
      // Counted by another client joining the room: the server stored the message once.
      const guest = (await api(short.url, "POST", "/api/auth/guest")).body.accessToken as string;
      const ws = await WsClient.connect(short.wsUrl, { token: guest });
      const joined = (await ws.request("room.join", { room: streamId })).d as { events: { kind: string; text?: string }[] };
      ws.close();
      assert.deepEqual(joined.events.filter((e) => e.kind === "chat").map((e) => e.text), ["first, before any expiry", draft]);
      await page.context().close();
    } finally {
      await short.stop();
    }
  });
});
