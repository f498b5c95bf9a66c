/**
 * The viewer page in real headless Chromium (Debian chromium driven by playwright-core): a
 * creator and a viewer in one room chat, react, run a poll, see the count; the creator
 * deletes a message and bans; a guest watches.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
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
  await page.goto(`${node.url}/room.html?room=${roomId}`);
  await page.fill("#login input[name=username]", username);
  await page.fill("#login input[name=password]", password);
  await page.click("#login button");
  await page.waitForSelector("#conn.online");
  return page;
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

describe("viewer page in Chromium", () => {
  it("every page runs under its Content-Security-Policy with no violation, and may not be framed", async () => {
    const page = await browserPage();
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    await page.addInitScript('document.addEventListener("securitypolicyviolation", (e) => console.error("Refused to: " + e.violatedDirective + " " + e.blockedURI))');
    for (const p of ["/", "/app/", `/room.html?room=${roomId}`, "/watch.html", "/broadcast.html", "/upload.html", "/admin.html"]) {
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
    await page.goto(`${node.url}/`);
    // A locator, not waitForFunction: a string predicate polled in the page is eval, which this very CSP refuses.
    await page.locator("#status", { hasText: /Ready:/ }).waitFor({ timeout: 10_000 });
    assert.deepEqual(violations, []);
  });

  it("creator and viewer chat, react, poll, see the count; the creator deletes and bans; a guest watches", async () => {
    const host = await loginPage("host", "host password 1");
    const viewer = await loginPage("viewer", "viewer password 1");
    assert.equal(await host.textContent("#title"), "Browser show");

    await viewer.fill("#chat-input", "hello from the viewer <b>not bold</b>");
    await viewer.click("#chat-form button");
    await host.waitForSelector("#messages li >> text=hello from the viewer");
    assert.equal(await host.locator("#messages li b").count(), 0, "chat text is text, not HTML");

    await host.waitForSelector("#viewers >> text=2 watching");

    await viewer.click('#reactions button[title="react 🔥"]');
    await viewer.click('#reactions button[title="react 🔥"]');
    await host.waitForSelector("#reaction-counts >> text=🔥 2");

    assert.ok(await host.isVisible("#poll-form"), "moderation controls for the creator");
    assert.ok(!(await viewer.isVisible("#poll-form")), "none for viewers");
    await host.fill("#poll-form input[name=question]", "Encore?");
    await host.fill("#poll-form input[name=options]", "yes, no");
    await host.click("#poll-form button");
    await viewer.waitForSelector(".poll >> text=Encore?");
    await viewer.click(".poll button >> text=yes");
    await host.waitForSelector(".poll button >> text=yes — 1");

    const guest = await browserPage();
    await guest.goto(`${node.url}/room.html?room=${roomId}`);
    await guest.click("#guest");
    await guest.waitForSelector("#messages li >> text=hello from the viewer", { timeout: 10_000 });

    await host.click('#messages li:has-text("hello from the viewer") button[data-action="delete"]');
    await viewer.waitForSelector("#messages li.deleted >> text=message deleted");
    await guest.waitForSelector("#messages li.deleted");

    await viewer.fill("#chat-input", "second message");
    await viewer.click("#chat-form button");
    await host.waitForSelector('#messages li:has-text("second message") button[data-action="ban"]');
    await host.click('#messages li:has-text("second message") button[data-action="ban"]');
    await viewer.waitForSelector("#room-error >> text=You were removed from this room");
    await host.screenshot({ path: path.join(os.tmpdir(), "esh-room-host.png") });
  });
});
