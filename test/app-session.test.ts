/**
 * The app's stored login (web/app/src/session.ts) in real Chromium against one embedded node. A
 * refresh token rotates on each use and a reused one revokes the session, so the app must never
 * present one token twice, and must not throw a login away for a server hiccup:
 * - several tabs opened at once (a browser restoring its tabs) all come back logged in, and the
 *   session is not revoked as a reuse; every screen shows the login even when it is restored
 *   before the screen has subscribed to changes (web/app/src/external.ts);
 * - a refresh answered 503 or 429 (a node restarting, a rate limit) is tried again, after the
 *   wait the server names, and the login stays;
 * - a refresh whose answer was lost (a reload mid-refresh, a network cut) after the server
 *   rotated the token is asked again with the same token, within the server's reuse grace;
 * - only the server's "this login is over" (401) turns the app into a guest.
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
  for (const u of ["tabs", "hiccup", "lost", "ended"]) await api(node.url, "POST", "/api/auth/register", { username: u, password: `${u} password 1` });
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

/** Every tab shows the login; a tab that does not is described (its account, its locks). */
async function allShow(tabs: Page[]): Promise<void> {
  for (const [i, t] of tabs.entries()) {
    await shows(t, "tabs").catch(async (e: unknown) => {
      const locks = await t.evaluate<string>(`navigator.locks.query().then((q) => JSON.stringify(q))`);
      const stored = await t.evaluate<string | null>(`localStorage.getItem("esh.refresh")`);
      throw new Error(`tab ${String(i)}: ${String(e)}; account: ${String(await t.textContent(".account"))}; locks: ${locks}; a token stored: ${String(stored !== null)}`);
    });
  }
}

describe("the app's stored login", () => {
  // What the user sees of the whole design: the tabs' turns (a Web Lock) and the server's reuse
  // grace (a tab's localStorage may lag the write of the tab before it) together.
  it("four tabs opened at once all come back logged in, and the session is not revoked as a reused token", async () => {
    const { context, page } = await loggedIn("tabs");
    const tabs = [page, ...(await Promise.all([1, 2, 3].map(() => context.newPage())))];
    const refreshes: number[] = [];
    context.on("response", (r) => {
      if (r.url().endsWith("/api/auth/refresh")) refreshes.push(r.status());
    });
    await Promise.all(tabs.map((t) => t.goto(`${node.url}/app/`)));
    await allShow(tabs);
    assert.ok(refreshes.length >= 4, `every tab refreshed (${String(refreshes.length)})`);
    assert.deepEqual(refreshes.filter((s) => s !== 200), [], "no refresh was refused");
    // The login is still good: one more reload of every tab stays logged in.
    await Promise.all(tabs.map((t) => t.reload()));
    await allShow(tabs);
    await context.close();
  });

  it("a refresh answered 503, then 429 naming a wait, is tried again after that wait: the login stays", async () => {
    const { context, page } = await loggedIn("hiccup");
    const refused = [503, 429];
    const asked: number[] = [];
    await context.route("**/api/auth/refresh", async (route) => {
      asked.push(Date.now());
      const status = refused.shift();
      if (status === undefined) return route.continue();
      const error = status === 503 ? { code: "UNAVAILABLE", message: "restarting" } : { code: "RATE_LIMITED", message: "wait", data: { retryAfterMs: 1500 } };
      return route.fulfill({ status, contentType: "application/json", body: JSON.stringify({ error }) });
    });
    await page.reload();
    await shows(page, "hiccup");
    assert.equal(asked.length, 3, "asked three times: 503, 429, then the server");
    const waited = (asked[2] ?? 0) - (asked[1] ?? 0);
    assert.ok(waited >= 1100, `the 429's retryAfterMs (1500 ms, spread by a quarter) was honoured: ${String(waited)} ms`);
    await context.close();
  });

  it("a refresh whose answer was lost (the server rotated the token, the app never heard) is asked again and the login stays", async () => {
    const { context, page } = await loggedIn("lost");
    let lost = false;
    await context.route("**/api/auth/refresh", async (route) => {
      if (lost) return route.continue();
      lost = true;
      await route.fetch(); // the server rotates the token...
      return route.abort("connectionreset"); // ...and the answer never arrives
    });
    await page.reload();
    await shows(page, "lost");
    await context.unroute("**/api/auth/refresh");
    // Still one good session: a reload later refreshes it again.
    await page.reload();
    await shows(page, "lost");
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
