/**
 * A gateway whose machine vanishes sends no close: the app must notice the silence itself and
 * reconnect. Real Chromium runs the app through a TCP proxy (a load balancer's stand-in) in
 * front of an embedded node; the proxy then black-holes the app's open WebSocket (nothing passes
 * either way, as after a power cut or a network partition) while it still forwards new
 * connections (to "a gateway that is up"). The app's heartbeat (web/app/src/socket.ts: a ping
 * after 4 s of quiet, the socket dropped when 4 s more pass without an answer) must bring it
 * back online on a new connection, by itself.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { appLogin, CHROMIUM, MEDIA_ARGS } from "../tools/harness/media-pages.js";

/** Forwards TCP to `port`; black-holes the WebSocket connections open when told to. */
class Proxy {
  readonly server: net.Server;
  readonly #open = new Set<{ ws: boolean; holed: boolean }>();
  webSockets = 0;

  constructor(port: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect({ host: "127.0.0.1", port });
      const link = { ws: false, holed: false };
      this.#open.add(link);
      const drop = () => {
        this.#open.delete(link);
        client.destroy();
        upstream.destroy();
      };
      client.once("data", (first: Buffer) => {
        link.ws = first.subarray(0, 8).toString() === "GET /ws?";
        if (link.ws) this.webSockets++;
        upstream.write(first);
        client.on("data", (d: Buffer) => {
          if (!link.holed) upstream.write(d);
        });
      });
      upstream.on("data", (d: Buffer) => {
        if (!link.holed) client.write(d);
      });
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
    });
  }

  /** The WebSocket connections open now pass nothing from here on, either way (new ones do). */
  blackHole(): void {
    for (const l of this.#open) if (l.ws) l.holed = true;
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1", () => resolve((this.server.address() as net.AddressInfo).port)));
  }
}

let node: PlatformNode;
let browser: Browser;

before(async () => {
  node = await PlatformNode.start({ env: { ESH_GATEWAY_AUTH_BURST_PER_IP: "100" } });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
});

after(async () => {
  await browser.close();
  await node.stop();
});

describe("the app and a gateway that went silent", () => {
  it("notices the silence by its heartbeat and comes back online on a new connection", async () => {
    const proxy = new Proxy(node.port);
    const port = await proxy.listen();
    proxy.server.unref(); // a failed wait must not keep the test process alive
    const base = `http://127.0.0.1:${String(port)}`;
    await api(node.url, "POST", "/api/auth/register", { username: "sil", password: "sil password 1", role: "viewer" });
    const page = await (await browser.newContext()).newPage();
    try {
      await page.goto(`${base}/app/`);
      await appLogin(page, "sil", "sil password 1");
      const connected = () => page.evaluate<string | null>(`document.querySelector(".notifications") && document.querySelector(".notifications").getAttribute("data-connected")`);
      await waitFor("the app's socket open", async () => ((await connected()) === "true" ? true : undefined), 15_000, 100);
      const socketsBefore = proxy.webSockets;
      proxy.blackHole();
      const t0 = Date.now();
      await waitFor("the app to notice the silence", async () => ((await connected()) === "false" ? true : undefined), 40_000, 100);
      const noticed = Date.now() - t0;
      await waitFor("the app online again", async () => ((await connected()) === "true" ? true : undefined), 20_000, 100);
      console.log(`# silence noticed after ${String(noticed)} ms, online again after ${String(Date.now() - t0)} ms`);
      // 4 s of quiet, a ping, 4 s without an answer, checked each second: well under 15 s.
      assert.ok(noticed <= 15_000, `noticed within the heartbeat's bound (${String(noticed)} ms)`);
      assert.ok(proxy.webSockets > socketsBefore, "back on a new WebSocket connection");
    } finally {
      proxy.server.close();
      await page.context().close();
    }
  });
});
