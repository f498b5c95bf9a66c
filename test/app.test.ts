/**
 * The web app (/app/, web/app) in real headless Chromium: the JavaScript budget of the home
 * page's first load, its layout at phone, tablet, desktop and TV sizes (no sideways overflow,
 * controls on screen, touch targets, accessible names; screenshots kept in test/artifacts/),
 * the TV layout driven by arrow keys and Enter alone, search, and login with the account menu.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { api, PlatformNode } from "../tools/harness/node.js";
import { makeClip, uploadAndWait } from "../tools/harness/vod.js";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const ARTIFACTS = path.join("test", "artifacts");
const BUDGET_GZIP = 300 * 1024;
let node: PlatformNode;
let browser: Browser;
let profile: string;
const titles = ["Ocean documentary", "Chess finals", "Cooking at home"];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  node = await PlatformNode.start({ env: { ESH_GATEWAY_AUTH_BURST_PER_IP: "100", ESH_VOD_ENCODER_CONCURRENCY: "2" } });
  await api(node.url, "POST", "/api/auth/register", { username: "maker", password: "maker password 1", role: "creator" });
  const token = (await api(node.url, "POST", "/api/auth/login", { username: "maker", password: "maker password 1" })).body.accessToken as string;
  const clip = makeClip(2, "320x180");
  await Promise.all(titles.map((t) => uploadAndWait(node.url, token, clip, t)));
  profile = mkdtempSync(path.join(os.tmpdir(), "esh-chromium-"));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
});

after(async () => {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  await node.stop();
});

const VIEWPORTS = [
  { name: "phone", width: 390, height: 844, mobile: true, tv: false },
  { name: "tablet", width: 820, height: 1180, mobile: true, tv: false },
  { name: "desktop", width: 1440, height: 900, mobile: false, tv: false },
  { name: "tv", width: 1920, height: 1080, mobile: false, tv: true },
];

async function open(v: (typeof VIEWPORTS)[number], query = ""): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: v.width, height: v.height }, isMobile: v.mobile, hasTouch: v.mobile });
  const page = await ctx.newPage();
  await page.goto(`${node.url}/app/${query || (v.tv ? "?tv=1" : "")}`);
  await page.waitForSelector(".card");
  return page;
}

describe("web app", () => {
  it(`the home page's first load stays under ${BUDGET_GZIP / 1024} KB of JavaScript (gzip)`, async (t) => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const scripts: Promise<number>[] = [];
    page.on("response", (r) => {
      if (r.request().resourceType() === "script") scripts.push(r.body().then((b) => gzipSync(b).length));
    });
    await page.goto(`${node.url}/app/`);
    await page.waitForSelector(".card");
    const sizes = await Promise.all(scripts);
    const total = sizes.reduce((a, b) => a + b, 0);
    t.diagnostic(`home page JavaScript: ${sizes.length} file(s), ${(total / 1024).toFixed(1)} KB gzip (budget ${BUDGET_GZIP / 1024} KB)`);
    assert.ok(sizes.length > 0);
    assert.ok(total < BUDGET_GZIP, `${total} bytes of gzipped JavaScript`);
    await ctx.close();
  });

  for (const v of VIEWPORTS) {
    it(`${v.name} ${v.width}x${v.height}: no sideways overflow, controls on screen, named, big enough to touch`, async (t) => {
      const page = await open(v);
      const shot = path.join(ARTIFACTS, `app-home-${v.name}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);
      type Layout = { overflow: number; search: boolean; account: boolean; firstCard: boolean; cards: number; unnamed: string[]; small: string[] };
      const layout = await page.evaluate<Layout>(`(() => {
        const vw = innerWidth;
        const onScreen = (sel) => { const e = document.querySelector(sel); if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= vw + 0.5; };
        const controls = [...document.querySelectorAll("a, button, input")];
        const unnamed = controls.filter((e) => !(e.getAttribute("aria-label") || e.textContent.trim() || (e.id && document.querySelector('label[for="' + e.id + '"]')))).map((e) => e.outerHTML.slice(0, 80));
        const small = controls.filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.height < 44 || r.width < 44); }).map((e) => e.outerHTML.slice(0, 80));
        return { overflow: document.documentElement.scrollWidth - vw, search: onScreen("#q"), account: onScreen(".account"), firstCard: onScreen(".card"), cards: document.querySelectorAll(".card").length, unnamed, small };
      })()`);
      assert.ok(layout.overflow <= 0, `${v.name}: page is ${layout.overflow}px wider than the screen`);
      assert.ok(layout.search && layout.account && layout.firstCard, `${v.name}: ${JSON.stringify(layout)}`);
      assert.ok(layout.cards >= titles.length);
      assert.deepEqual(layout.unnamed, [], "every control has an accessible name");
      assert.deepEqual(layout.small, [], "every control is at least 44x44 px");
      await page.context().close();
    });
  }

  it("'Not interested' on a home card takes it out of every row, and it stays out after a reload", async () => {
    // A viewer with an account (a guest is a new user after a reload): logged in by its refresh token.
    await api(node.url, "POST", "/api/auth/register", { username: "picky", password: "picky password 1" });
    const login = await api(node.url, "POST", "/api/auth/login", { username: "picky", password: "picky password 1" });
    const page = await open(VIEWPORTS[2] ?? VIEWPORTS[0]!);
    await page.evaluate(`localStorage.setItem("esh.refresh", ${JSON.stringify(String(login.body.refreshToken))})`);
    await page.reload();
    const trending = page.locator('section.row[aria-label="Trending"]');
    await trending.locator(".card").first().waitFor();
    const title = (await trending.locator(".card-title").first().textContent()) ?? "";
    assert.ok(titles.includes(title), title);
    await trending.getByRole("button", { name: `Not interested in ${title}` }).click();
    const inRows = () => page.locator("section.row .card-title", { hasText: title }).count();
    assert.equal(await inRows(), 0, "gone from every row at once");
    // The hide event is stored and the recommenders read it for this user: after a reload it is still gone.
    let after = -1;
    for (let i = 0; i < 20 && after !== 0; i++) {
      await page.reload();
      await page.locator('section.row[aria-label="Trending"] .card').first().waitFor();
      after = await inRows();
      if (after !== 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(after, 0, `${title} came back after a reload`);
    await page.context().close();
  });

  it("a video's card shows a card-sized image made by the encoder and the video's length", async () => {
    const page = await open(VIEWPORTS[2] ?? VIEWPORTS[0]!);
    const card = page.locator('section.row[aria-label="Trending"] .card').first();
    await card.waitFor();
    type Thumb = { width: number; src: string; duration: string };
    let thumb: Thumb = { width: 0, src: "", duration: "" };
    for (let i = 0; i < 50 && thumb.width === 0; i++) {
      thumb = await page.evaluate<Thumb>(`(() => { const c = document.querySelector('section.row[aria-label="Trending"] .card'); const img = c.querySelector(".thumb img"); return { width: img && img.complete ? img.naturalWidth : 0, src: img ? img.getAttribute("src") : "", duration: c.querySelector(".thumb .duration")?.textContent ?? "" }; })()`);
      if (thumb.width === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(thumb.src, /^\/vod\/[^/]+\/card\.jpg$/);
    assert.equal(thumb.width, 320, "sized for the card, not the full poster");
    assert.equal(thumb.duration, "0:02", "the clips are 2 s long");
    const res = await fetch(`${node.url}${thumb.src}`);
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    assert.match(res.headers.get("cache-control") ?? "", /immutable/);
    assert.ok((await res.arrayBuffer()).byteLength < 40_000, "a few KB");
    await page.context().close();
  });

  it("after a navigation, focus is on the new screen's heading (screen readers announce it; a remote starts there)", async () => {
    const page = await open(VIEWPORTS[2] ?? VIEWPORTS[0]!);
    const card = page.locator(".card").first();
    const title = (await card.locator(".card-title").textContent()) ?? "";
    await card.click();
    await page.waitForURL(/\/app\/watch\//);
    // Polled with evaluate (the page's CSP refuses the string functions waitForFunction would run).
    const heading = async () => {
      for (let i = 0; i < 50; i++) {
        const h = await page.evaluate<string>(`document.activeElement?.tagName === "H1" ? document.activeElement.textContent : ""`);
        if (h) return h;
        await new Promise((r) => setTimeout(r, 100));
      }
      return "";
    };
    assert.equal(await heading(), title);
    await page.goBack();
    assert.equal(await heading(), "Home");
    await page.context().close();
  });

  it("TV: arrow keys alone reach a video, Enter opens it, and reach a reaction on the watch page", async () => {
    const page = await open(VIEWPORTS[3] ?? VIEWPORTS[0]!);
    assert.equal(await page.evaluate<boolean>("document.documentElement.classList.contains('tv')"), true);
    let onCard = false;
    for (let i = 0; i < 12 && !onCard; i++) {
      await page.keyboard.press("ArrowDown");
      onCard = await page.evaluate<boolean>("document.activeElement?.classList.contains('card') ?? false");
    }
    assert.ok(onCard, "ArrowDown reaches the cards");
    const href = () => page.evaluate<string>("document.activeElement.getAttribute('href')");
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowLeft"); // to the row's first card
    const first = await href();
    await page.keyboard.press("ArrowRight");
    const second = await href();
    assert.notEqual(second, first, "ArrowRight moves along the row");
    assert.match(second, /^\/app\/watch\//, "to the next video");
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
    assert.match(await href(), /^\/app\/watch\//, "at the row's end, focus stays on a video");
    await Promise.all([page.waitForURL(/\/app\/watch\//), page.keyboard.press("Enter")]);
    await page.waitForSelector("video[aria-label='Video']");
    // On the watch page, arrows alone reach the reactions; Enter sends one.
    const focused = () => page.evaluate<string>("(document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.tagName) || ''");
    let onReaction = false;
    const path: string[] = [];
    const keys = ["ArrowDown", "ArrowDown", "ArrowDown", "ArrowRight", ...Array<string>(8).fill("ArrowUp")]; // brand, video, quality; the side column; up to the reactions
    for (const key of keys) {
      if (onReaction) break;
      await page.keyboard.press(key);
      path.push(`${key.slice(5)}:${await focused()}`);
      onReaction = (await focused()).startsWith("React");
    }
    console.log(`# TV focus path on the watch page: ${path.join(" > ")}`);
    assert.ok(onReaction, "arrow keys reach a reaction button");
    await page.keyboard.press("Enter");
    await page.waitForSelector(".reaction-counts span");
    await page.context().close();
  });

  it("search asks the server: typos and prefixes find the title, a category chip narrows; a creator logs in and sees the studio links", async () => {
    const page = await open(VIEWPORTS[2] ?? VIEWPORTS[0]!);
    const asked: string[] = [];
    page.on("request", (r) => r.url().includes("/api/search?") && asked.push(new URL(r.url()).search));
    await page.fill("#q", "ches finls"); // a prefix and a typo
    await page.press("#q", "Enter");
    await page.waitForSelector("section[aria-label='1 result for “ches finls”']");
    const found = await page.evaluate<string[]>(`[...document.querySelectorAll(".card .card-title")].map((e) => e.textContent)`);
    assert.deepEqual(found, ["Chess finals"]);
    assert.ok(asked.some((q) => new URLSearchParams(q).get("q") === "ches finls"), `the server was asked: ${asked.join(" ")}`);
    await page.fill("#q", "zzzz nothing");
    await page.press("#q", "Enter");
    await page.waitForSelector("text=Nothing matches.");
    await page.screenshot({ path: path.join(ARTIFACTS, "app-search-desktop.png") });
    await page.click("button.account");
    await page.fill("input[name=username]", "maker");
    await page.fill("input[name=password]", "maker password 1");
    await page.click("form.login button[type=submit]");
    await page.waitForSelector("nav.main-nav a[href='/app/studio']");
    assert.match((await page.textContent(".account")) ?? "", /maker/);
    await page.context().close();
  });
});
