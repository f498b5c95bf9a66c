/**
 * The app's stored login (web/app/src/session.ts) in real Chromium against one embedded node. A
 * refresh token rotates on each use and a reused one revokes the session, so the app must never
 * present one token twice, and must not throw a login away for a server hiccup:
 * - several tabs opened at once (a browser restoring its tabs) all come back logged in, and the
 *   session is not revoked as a reuse;
 * - a refresh answered 503 or 429 (a node restarting, a rate limit) is tried again, and the
 *   login stays; only the server's "this login is over" (401) turns the app into a guest.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { api, PlatformNode } from "../tools/harness/node.js";
import { appLogin, CHROMIUM, MEDIA_ARGS } from "../tools/harness/media-pages.js";

let node: PlatformNode;
let browser: Browser;

before(async () => {
  // Every tab's load asks /api/auth (guest, login, refresh): more than the per-address default allows at once.
  node = await PlatformNode.start({ env: { ESH_GATEWAY_AUTH_BURST_PER_IP: "200" } });
  for (const u of ["tabs", "hiccup", "ended"]) await api(node.url, "POST", "/api/auth/register", { username: u, password: `${u} password 1` });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
});

after(async () => {
  await browser.close();
  await node.stop();
});

/** A context logged in as `username` on the app's home page. */
async function loggedIn(username: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${node.url}/app/`);
  await appLogin(page, username, `${username} password 1`);
  return { context, page };
}

const shows = (p: Page, who: string) => p.waitForSelector(`.account:has-text("${who}")`, { timeout: 15_000 });

describe("the app's stored login", () => {
  it("four tabs opened at once all come back logged in, and the session is not revoked as a reused token", async () => {
    const { context, page } = await loggedIn("tabs");
    const tabs = [page, ...(await Promise.all([1, 2, 3].map(() => context.newPage())))];
    const refreshes: number[] = [];
    const refused: string[] = [];
    context.on("response", (r) => {
      if (r.url().endsWith("/api/auth/refresh")) refreshes.push(r.status());
      if (r.status() >= 400 || r.url().includes("/api/auth/")) refused.push(`${String(r.status())} ${r.url()}`);
    });
    after(() => console.log(`# refused during the four tabs: ${refused.length ? refused.join(", ") : "none"}`));
    await Promise.all(tabs.map((t) => t.goto(`${node.url}/app/`)));
    for (const [i, t] of tabs.entries()) await shows(t, "tabs").catch(async (e: unknown) => {
      throw new Error(`tab ${String(i)}: ${String(e)}; account: ${String(await t.textContent(".account"))}; html: ${(await t.content()).slice(0, 300)}`);
    });
    assert.deepEqual(refreshes.filter((s) => s !== 200), [], "no refresh was refused");
    // The login is still good: one more reload of every tab stays logged in.
    await Promise.all(tabs.map((t) => t.reload()));
    for (const t of tabs) await shows(t, "tabs");
    await context.close();
  });

  it("a refresh answered 503, then 429, is tried again: the login stays", async () => {
    const { context, page } = await loggedIn("hiccup");
    const refused = [503, 429];
    await context.route("**/api/auth/refresh", async (route) => {
      const status = refused.shift();
      if (status === undefined) return route.continue();
      return route.fulfill({ status, contentType: "application/json", headers: { "retry-after": "1" }, body: JSON.stringify({ error: { code: status === 503 ? "UNAVAILABLE" : "RATE_LIMITED", message: "try later" } }) });
    });
    await page.reload();
    await shows(page, "hiccup");
    assert.deepEqual(refused, [], "both refusals were met, and the app asked again");
    await context.close();
  });

  it("a login the server ended (logged out on another device) turns the app into a guest", async () => {
    const { context, page } = await loggedIn("ended");
    const refreshToken = await page.evaluate<string | null>(`localStorage.getItem("esh.refresh")`);
    assert.ok(refreshToken);
    assert.equal((await api(node.url, "POST", "/api/auth/logout", { refreshToken })).status, 200);
    const refused = page.waitForResponse((r) => r.url().endsWith("/api/auth/refresh"));
    await page.reload();
    assert.equal((await refused).status(), 401);
    await page.waitForResponse((r) => r.url().endsWith("/api/auth/guest"));
    await page.waitForFunction(`localStorage.getItem("esh.refresh") === null`, undefined, { timeout: 15_000 }); // the dead token forgotten
    assert.equal(await page.textContent(".account"), "Log in");
    await context.close();
  });
});
