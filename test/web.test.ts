/**
 * The web app's room in real headless Chromium (Debian chromium driven by playwright-core):
 * every screen under its Content-Security-Policy; a creator and a viewer in one room chat
 * (text stays text), react, run a poll, see the count; the creator deletes a message and bans;
 * a guest watches. (app-journeys.test.ts covers the screens' full journeys and layouts.)
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { appLogin } from "../tools/harness/media-pages.js";
import { api, PlatformNode } from "../tools/harness/node.js";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
let node: PlatformNode;
let roomId: string;
const contexts: { ctx: BrowserContext; dir: string }[] = [];

async function browserPage(): Promise<Page> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "esh-chromium-"));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  contexts.push({ ctx, dir });
  return ctx.pages()[0] ?? (await ctx.newPage());
}

async function loginPage(username: string, password: string): Promise<Page> {
  const page = await browserPage();
  await page.goto(`${node.url}/app/`);
  await appLogin(page, username, password);
  await page.goto(`${node.url}/app/watch/${roomId}`);
  await page.waitForSelector(".reaction-buttons button");
  return page;
}

async function send(page: Page, text: string): Promise<void> {
  await page.fill("#chat-input", text);
  await page.press("#chat-input", "Enter");
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: npm test installs Debian's chromium (see README)`);
  node = await PlatformNode.start({ env: { ESH_GATEWAY_AUTH_BURST_PER_IP: "100" } });
  await api(node.url, "POST", "/api/auth/register", { username: "host", password: "host password 1", role: "creator" });
  await api(node.url, "POST", "/api/auth/register", { username: "viewer", password: "viewer password 1" });
  const host = await api(node.url, "POST", "/api/auth/login", { username: "host", password: "host password 1" });
  roomId = (await api(node.url, "POST", "/api/streams", { title: "Browser show", kind: "live" }, host.body.accessToken as string)).body.id as string;
});

after(async () => {
  for (const { ctx, dir } of contexts) {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await node.stop();
});

describe("the app's room in Chromium", () => {
  it("every screen runs under its Content-Security-Policy with no violation, and may not be framed", async () => {
    const page = await browserPage();
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    await page.addInitScript('document.addEventListener("securitypolicyviolation", (e) => console.error("Refused to: " + e.violatedDirective + " " + e.blockedURI))');
    for (const p of ["/app/", `/app/watch/${roomId}`, "/app/studio", "/app/admin", "/app/search?q=show"]) {
      const res = await page.goto(`${node.url}${p}`);
      assert.ok(res);
      const h = res.headers();
      assert.match(h["content-security-policy"] ?? "", /script-src 'self';.*frame-ancestors 'none'/, p);
      // Media and XHR reach this origin (and announced edges) only, not any host.
      assert.match(h["content-security-policy"] ?? "", /connect-src 'self';/, p);
      assert.match(h["content-security-policy"] ?? "", /media-src 'self' blob:;/, p);
      assert.equal(h["x-frame-options"], "DENY", p);
      assert.equal(h["x-content-type-options"], "nosniff", p);
      assert.equal(h["referrer-policy"], "no-referrer", p);
      await page.waitForLoadState("networkidle").catch(() => undefined);
    }
    // The bare origin leads to the app; the single-purpose pages of old are gone.
    const home = await page.goto(`${node.url}/`);
    assert.equal(new URL(home?.url() ?? "").pathname, "/app/");
    // A locator, not waitForFunction: a string predicate polled in the page is eval, which this very CSP refuses.
    await page.locator("nav.main-nav a[href='/app/']").first().waitFor({ timeout: 10_000 });
    for (const gone of ["/room.html", "/watch.html", "/broadcast.html", "/upload.html", "/admin.html", "/bundles/live-media.js"]) {
      assert.equal((await fetch(`${node.url}${gone}`)).status, 404, gone);
    }
    assert.deepEqual(violations, []);
  });

  it("creator and viewer chat, react, poll, see the count; the creator deletes and bans; a guest watches", async () => {
    const host = await loginPage("host", "host password 1");
    const viewer = await loginPage("viewer", "viewer password 1");
    assert.equal(await host.textContent(".watch h1"), "Browser show");

    await send(viewer, "hello from the viewer <b>not bold</b>");
    await host.waitForSelector(".messages li[data-seq] >> text=hello from the viewer");
    assert.equal(await host.locator(".messages li b").count(), 0, "chat text is text, not HTML");

    await host.locator(".viewers", { hasText: "2 watching" }).waitFor();

    await viewer.click("button[aria-label='React 🔥']");
    await viewer.click("button[aria-label='React 🔥']");
    await host.locator(".reaction-counts", { hasText: "🔥 2" }).waitFor();

    assert.ok(await host.isVisible("form[aria-label='New poll']"), "moderation controls for the creator");
    assert.ok(!(await viewer.isVisible("form[aria-label='New poll']")), "none for viewers");
    await host.fill("input[aria-label='Poll question']", "Encore?");
    await host.fill("input[aria-label='Poll options, comma separated']", "yes, no");
    await host.click("form[aria-label='New poll'] button[type=submit]");
    await viewer.waitForSelector(".poll >> text=Encore?");
    await viewer.click("button[aria-label^='Vote yes']");
    await host.waitForSelector(".poll button[aria-label='Vote yes: 1 votes']");

    const guest = await browserPage();
    await guest.goto(`${node.url}/app/watch/${roomId}`);
    await guest.waitForSelector(".messages li >> text=hello from the viewer", { timeout: 10_000 });

    await host.click(".messages li:has-text('hello from the viewer') button[aria-label='Delete message']");
    await viewer.waitForSelector(".messages li.deleted .text:text-is('message deleted')");
    await guest.waitForSelector(".messages li.deleted");

    await send(viewer, "second message");
    await host.click(".messages li:has-text('second message') button[aria-label='Ban from this room']");
    await viewer.waitForSelector("[role=alert]:text-is('You were removed from this room')");
    await host.screenshot({ path: path.join(os.tmpdir(), "esh-room-host.png") });
  });
});
