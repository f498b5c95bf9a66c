/**
 * Media across nodes over a real NATS server: the gateway runs on one node, the catalog on
 * another, mediasoup on two media nodes. A stream's broadcaster is placed on one media node
 * (its origin); once the origin is full, viewers are served by the other media node, fed
 * through a PipeTransport (real Chromium decodes it there); when a media node dies its streams
 * are placed again on the survivor.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { WsClient } from "../tools/harness/ws-client.js";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM, endLive, goLive, MEDIA_ARGS, playing, viewerPage, type PageGlobals } from "../tools/harness/media-pages.js";

const FAST = { ESH_BROKER_HEARTBEAT_INTERVAL_SEC: "1", ESH_BROKER_HEARTBEAT_TIMEOUT_SEC: "3", ESH_BROKER_REQUEST_TIMEOUT_MS: "5000", ESH_GATEWAY_AUTH_BURST_PER_IP: "200" };

let nats: NatsServer;
const nodes: PlatformNode[] = [];
let gw: PlatformNode;
const clients: WsClient[] = [];

/** The media node a stream is placed on: only admins see it (node ids are internal topology). */
async function placedOn(id: string): Promise<string | undefined> {
  const admin = (await api(gw.url, "POST", "/api/auth/login", { username: "boss", password: "boss password 1" })).body.accessToken as string;
  assert.equal((await api(gw.url, "GET", `/api/streams/${id}`)).body.mediaNode, undefined, "the media node is hidden from the public");
  return (await api(gw.url, "GET", `/api/streams/${id}`, undefined, admin)).body.mediaNode as string | undefined;
}

async function start(services: string, id: string, env: Record<string, string> = {}): Promise<PlatformNode> {
  const n = await PlatformNode.start({ services, natsUrl: nats.url, env: { ...FAST, ...env, NODE_ID: id } });
  nodes.push(n);
  return n;
}

before(async () => {
  nats = await NatsServer.start();
  await start("sessions,streams,rooms", "actors-1", { ADMIN_USER: "boss", ADMIN_PASSWORD: "boss password 1" });
  // One viewer per media node: the second viewer of a stream is relayed from another node.
  await start("media", "media-1", { ESH_MEDIA_MAX_VIEWERS_PER_NODE: "1" });
  await start("media", "media-2", { ESH_MEDIA_MAX_VIEWERS_PER_NODE: "1" });
  gw = await start("gateway", "gw-1");
  await waitFor("gateway sees both media nodes", () => /Node 'media-1' connected/.test(gw.output) && /Node 'media-2' connected/.test(gw.output), 20_000);
});

after(async () => {
  for (const c of clients) c.ws.close();
  for (const n of nodes) await n.stop().catch(() => undefined);
  await nats.stop();
});

describe("media across nodes", () => {
  it("viewers beyond the origin's capacity are served by another media node through a PipeTransport", async () => {
    await api(gw.url, "POST", "/api/auth/register", { username: "relay", password: "relay password 1", role: "creator" });
    const token = (await api(gw.url, "POST", "/api/auth/login", { username: "relay", password: "relay password 1" })).body.accessToken as string;
    const id = (await api(gw.url, "POST", "/api/streams", { title: "Relayed", kind: "live" }, token)).body.id as string;
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
    try {
      const caster = await goLive(browser, gw.url, "relay", "relay password 1", id);
      const origin = await placedOn(id);
      const relay = origin === "media-1" ? "media-2" : "media-1";
      const v1 = await viewerPage(browser, gw.url, id);
      await playing(v1, "viewer 1 (origin)");
      const relayNode = nodes.find((n) => n.output.includes(`Echostreamhub node ${relay} started`));
      assert.ok(relayNode);
      // The origin reports its load at most 500 ms after a change; then viewer 2 goes elsewhere.
      await new Promise((r) => setTimeout(r, 1500));
      const v2 = await viewerPage(browser, gw.url, id);
      await playing(v2, "viewer 2 (relay node)");
      assert.match(relayNode.output, new RegExp(`stream ${id} relayed from ${origin} through a PipeTransport`));
      // Ending the stream reaches the viewers on both nodes.
      await endLive(caster);
      for (const v of [v1, v2]) await v.waitForFunction(() => (globalThis as unknown as PageGlobals).mediaStates?.includes("ended"), undefined, { timeout: 10_000 });
    } finally {
      await browser.close();
    }
  });

  it("a stream is placed on one media node and its signalling goes there; a dead media node's streams move", async () => {
    await api(gw.url, "POST", "/api/auth/register", { username: "dist", password: "dist password 1", role: "creator" });
    const token = (await api(gw.url, "POST", "/api/auth/login", { username: "dist", password: "dist password 1" })).body.accessToken as string;
    const id = (await api(gw.url, "POST", "/api/streams", { title: "Placed", kind: "live" }, token)).body.id as string;
    const c = await WsClient.connect(gw.wsUrl, { token });
    clients.push(c);
    const joined = await c.request("media.join", { stream: id, role: "broadcaster" }, 10_000);
    assert.equal(joined.t, "ok", JSON.stringify(joined) + nodes.map((n) => n.output.split("\n").filter((l) => /ERROR|WARN|exit|Error/.test(l)).slice(-10).join("\n")).join("\n----\n"));
    const transportId = (joined.d as { transport: { id: string } }).transport.id;
    const placed = await placedOn(id);
    assert.ok(placed === "media-1" || placed === "media-2", `placed on ${String(placed)}`);
    // The transport exists only on that node: a follow-up call reaching it proves the routing.
    const bad = await c.request("media.connect", { stream: id, transportId, dtlsParameters: { role: "client", fingerprints: "x" } }, 10_000);
    assert.equal((bad.d as { code: string }).code, "BAD_REQUEST", JSON.stringify(bad));
    const host = nodes.find((n) => n.output.includes(`Echostreamhub node ${placed} started`));
    assert.ok(host);
    host.proc.kill("SIGKILL");
    const other = placed === "media-1" ? "media-2" : "media-1";
    await waitFor("gateway notices the dead media node", () => new RegExp(`Node '${placed}' disconnected`).test(gw.output), 20_000);
    const c2 = await WsClient.connect(gw.wsUrl, { token });
    clients.push(c2);
    // Until every node has noticed the death, a join may answer UNAVAILABLE: clients retry.
    const again = await waitFor("a join placed on the surviving media node", async () => {
      const r = await c2.request("media.join", { stream: id, role: "broadcaster" }, 10_000);
      if (r.t !== "ok" && (r.d as { code: string }).code !== "UNAVAILABLE") throw new Error(JSON.stringify(r));
      return r.t === "ok" ? r : undefined;
    }, 20_000, 500);
    assert.equal(again.t, "ok");
    assert.equal(await placedOn(id), other);
  });
});
