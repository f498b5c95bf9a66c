/**
 * Live WebRTC end to end in real headless Chromium with a fake camera and microphone, through
 * a real mediasoup worker: the broadcaster page publishes (3 simulcast layers), two viewer
 * pages decode video and receive audio, a viewer pinned to "low" gets the smallest layer, and
 * a SIGKILLed worker is replaced while its clients are told to reconnect and play again.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { CHROMIUM, goLive, inbound, MEDIA_ARGS, playing, viewerPage, type PageGlobals } from "../tools/harness/media-pages.js";

let node: PlatformNode;
let browser: Browser;
let streamId: string;
let otherOrigin: http.Server;

/** A page on the other origin. */
async function foreignPage(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  const addr = otherOrigin.address() as { port: number };
  await page.goto(`http://127.0.0.1:${addr.port}/`);
  return page;
}

const viewer = (): Promise<Page> => viewerPage(browser, node.url, streamId);

function workerPids(): number[] {
  const out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(node.proc.pid)], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes("mediasoup")).map((l) => Number.parseInt(l, 10));
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: npm test installs Debian's chromium (see README)`);
  node = await PlatformNode.start({ env: { ESH_MEDIA_WORKERS: "2", ESH_GATEWAY_AUTH_BURST_PER_IP: "100", ESH_MEDIA_BROADCASTER_GRACE_MS: "3000", ESH_MEDIA_MEDIA_TIMEOUT_MS: "4000" } });
  await api(node.url, "POST", "/api/auth/register", { username: "caster", password: "caster password 1", role: "creator" });
  const host = await api(node.url, "POST", "/api/auth/login", { username: "caster", password: "caster password 1" });
  streamId = (await api(node.url, "POST", "/api/streams", { title: "Camera show", kind: "live" }, host.body.accessToken as string)).body.id as string;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
  // WHIP/WHEP pages come from another origin (another port), so each call is cross-origin (CORS preflight).
  otherOrigin = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>other origin</title>"));
  await new Promise<void>((resolve) => otherOrigin.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  otherOrigin.close();
  await browser.close();
  await node.stop();
});

/** Publishes the fake camera and microphone with a bare RTCPeerConnection, as any WHIP encoder would. */
async function whipPublish(page: Page, url: string, token: string): Promise<{ status: number; location: string | null; error?: string }> {
  return page.evaluate(async ({ url, token }) => {
    const g = globalThis as unknown as Record<string, unknown> & { RTCPeerConnection: new () => RTCPeerConnectionLike; navigator: { mediaDevices: { getUserMedia(c: unknown): Promise<{ getTracks(): unknown[] }> } }; fetch: typeof fetch };
    const pc = new g.RTCPeerConnection();
    const media = await g.navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
    for (const t of media.getTracks()) pc.addTransceiver(t, { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    const res = await g.fetch(url, { method: "POST", headers: { "content-type": "application/sdp", authorization: `Bearer ${token}` }, body: pc.localDescription?.sdp });
    const text = await res.text();
    if (res.status !== 201) return { status: res.status, location: null, error: text };
    await pc.setRemoteDescription({ type: "answer", sdp: text });
    g.whipPc = pc;
    return { status: res.status, location: res.headers.get("location") };
  }, { url, token });
}

async function whepPlay(page: Page, url: string, token: string): Promise<{ status: number; location: string | null; error?: string }> {
  return page.evaluate(async ({ url, token }) => {
    type Video = { muted: boolean; autoplay: boolean; srcObject: unknown; play(): Promise<void> };
    const g = globalThis as unknown as Record<string, unknown> & { RTCPeerConnection: new () => RTCPeerConnectionLike; fetch: typeof fetch; document: { createElement(t: string): Video; body: { append(e: Video): void } } };
    const pc = new g.RTCPeerConnection();
    const video = g.document.createElement("video"); // a player renders what it gets (Chrome decodes only for a sink)
    video.muted = true;
    video.autoplay = true;
    g.document.body.append(video);
    pc.ontrack = (e) => {
      video.srcObject = e.streams[0];
      void video.play().catch(() => undefined);
    };
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    await pc.setLocalDescription(await pc.createOffer());
    const res = await g.fetch(url, { method: "POST", headers: { "content-type": "application/sdp", authorization: `Bearer ${token}` }, body: pc.localDescription?.sdp });
    const text = await res.text();
    if (res.status !== 201) return { status: res.status, location: null, error: text };
    await pc.setRemoteDescription({ type: "answer", sdp: text });
    g.whepPc = pc;
    return { status: res.status, location: res.headers.get("location") };
  }, { url, token });
}

interface RTCPeerConnectionLike {
  ontrack: ((e: { streams: unknown[] }) => void) | null;
  addTransceiver(t: unknown, o: { direction: string }): unknown;
  createOffer(): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(d: unknown): Promise<void>;
  setRemoteDescription(d: unknown): Promise<void>;
  localDescription: { sdp: string } | null;
  getStats(): Promise<Map<string, Record<string, number | string>>>;
}

function whepInbound(page: Page): Promise<{ video: number; audio: number; height: number }> {
  return page.evaluate(async () => {
    const pc = (globalThis as unknown as { whepPc?: RTCPeerConnectionLike }).whepPc;
    const out = { video: 0, audio: 0, height: 0 };
    for (const s of (await pc?.getStats())?.values() ?? []) {
      if (s.type !== "inbound-rtp") continue;
      if (s.kind === "video") {
        out.video = Number(s.framesDecoded ?? 0);
        out.height = Number(s.frameHeight ?? 0);
      } else out.audio = Number(s.packetsReceived ?? 0);
    }
    return out;
  });
}

describe("live WebRTC in Chromium", () => {
  let caster: Page;
  let v1: Page;
  let v2: Page;

  it("a broadcaster goes live from the camera; two viewers decode video and receive audio", async () => {
    caster = await goLive(browser, node.url, "caster", "caster password 1", streamId);
    const stream = (await api(node.url, "GET", `/api/streams/${streamId}`)).body as { status: string };
    assert.equal(stream.status, "live");
    [v1, v2] = await Promise.all([viewer(), viewer()]);
    const [s1, s2] = await Promise.all([playing(v1, "viewer 1"), playing(v2, "viewer 2")]);
    assert.ok((s1.video?.frameHeight ?? 0) > 0 && (s2.video?.frameHeight ?? 0) > 0);
    await caster.locator(".viewers", { hasText: /[1-9]\d* watching/ }).waitFor({ timeout: 10_000 });
  });

  it("a viewer choosing the low quality receives a smaller resolution than one on auto", async () => {
    await v2.selectOption(".player select[aria-label=Quality]", "low");
    const both = await waitFor("low layer on viewer 2, a higher one on viewer 1", async () => {
      const [a, b] = [await inbound(v1), await inbound(v2)];
      const hi = a.video?.frameHeight ?? 0;
      const lo = b.video?.frameHeight ?? 0;
      return lo > 0 && lo <= 180 && hi > lo ? { hi, lo } : undefined;
    }, 30_000, 500);
    assert.ok(both.hi > both.lo);
    const label = await v2.textContent(".player .stats");
    assert.match(label ?? "", /x180|x1\d\d\b|\d+x\d+/);
  });

  it("a plain RTCPeerConnection publishing through WHIP is watchable through WHEP, cross-origin; DELETE ends each session", async () => {
    const login = await api(node.url, "POST", "/api/auth/login", { username: "caster", password: "caster password 1" });
    const token = login.body.accessToken as string;
    const whipStream = (await api(node.url, "POST", "/api/streams", { title: "OBS-like", kind: "live" }, token)).body.id as string;
    const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    const publisher = await foreignPage();
    const pub = await whipPublish(publisher, `${node.url}/api/whip/${whipStream}`, token);
    assert.equal(pub.status, 201, pub.error);
    assert.match(pub.location ?? "", new RegExp(`^/api/whip/${whipStream}/[A-Za-z0-9_-]+$`));
    const player = await foreignPage();
    const play = await waitFor("WHEP answer once the WHIP producers exist", async () => {
      const r = await whepPlay(player, `${node.url}/api/whep/${whipStream}`, guest);
      return r.status === 201 ? r : undefined;
    }, 15_000, 500);
    const got = await waitFor("WHEP player decoding", async () => {
      const s = await whepInbound(player);
      return s.video > 20 && s.audio > 20 ? s : undefined;
    }, 30_000, 250).catch(async (err: unknown) => {
      const state = (p: Page, key: string) => p.evaluate((k) => (globalThis as unknown as Record<string, { connectionState: string } | undefined>)[k]?.connectionState, key);
      throw new Error(`${String(err)}: publisher ${String(await state(publisher, "whipPc"))}, player ${String(await state(player, "whepPc"))}`);
    });
    assert.ok(got.height > 0);
    const viewerCantPublish = await whipPublish(await foreignPage(), `${node.url}/api/whip/${whipStream}`, guest);
    assert.equal(viewerCantPublish.status, 403, viewerCantPublish.error);
    const del = await api(node.url, "DELETE", play.location ?? "", undefined, guest);
    assert.equal(del.status, 200);
    assert.equal((await api(node.url, "DELETE", play.location ?? "", undefined, guest)).status, 404);
    assert.equal((await api(node.url, "DELETE", pub.location ?? "", undefined, guest)).status, 403, "a guest cannot stop the broadcaster");
    assert.equal((await api(node.url, "DELETE", pub.location ?? "", undefined, token)).status, 200);
  });

  it("a WHIP publisher that goes away without DELETE (closed, or sending nothing) ends its stream after the grace", async () => {
    const token = (await api(node.url, "POST", "/api/auth/login", { username: "caster", password: "caster password 1" })).body.accessToken as string;
    const status = async (id: string) => (await api(node.url, "GET", `/api/streams/${id}`)).body.status as string;
    const closing = (await api(node.url, "POST", "/api/streams", { title: "Tab closed", kind: "live" }, token)).body.id as string;
    const silent = (await api(node.url, "POST", "/api/streams", { title: "Encoder frozen", kind: "live" }, token)).body.id as string;
    const [p1, p2] = [await foreignPage(), await foreignPage()];
    assert.equal((await whipPublish(p1, `${node.url}/api/whip/${closing}`, token)).status, 201);
    assert.equal((await whipPublish(p2, `${node.url}/api/whip/${silent}`, token)).status, 201);
    const connected = (p: Page) => p.evaluate(() => (globalThis as unknown as { whipPc?: { connectionState: string } }).whipPc?.connectionState === "connected" || undefined);
    await waitFor("both publishers connected", async () => (await connected(p1)) && (await connected(p2)), 15_000, 200);
    assert.deepEqual([await status(closing), await status(silent)], ["live", "live"]);
    // A WHEP player that connects, then goes away without a DELETE, is closed too.
    const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    const stranger = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    const p3 = await foreignPage();
    const play = await waitFor("a WHEP player on the silent stream", async () => {
      const r = await whepPlay(p3, `${node.url}/api/whep/${silent}`, guest);
      return r.status === 201 ? r : undefined;
    }, 15_000, 500);
    await waitFor("the WHEP player connected", () => p3.evaluate(() => (globalThis as unknown as { whepPc?: { connectionState: string } }).whepPc?.connectionState === "connected" || undefined), 15_000, 200);
    const probe = async () => (await api(node.url, "DELETE", play.location ?? "", undefined, stranger)).status; // 403 while it exists, 404 once gone
    assert.equal(await probe(), 403);
    await p3.evaluate(() => (globalThis as unknown as { whepPc: { close(): void } }).whepPc.close());
    await waitFor("the vanished WHEP player's session to be closed", async () => ((await probe()) === 404 ? true : undefined), 15_000, 250);
    // One closes its connection without a DELETE (a closed tab); the other keeps ICE alive but sends no media.
    await p1.evaluate(() => (globalThis as unknown as { whipPc: { close(): void } }).whipPc.close());
    await p2.evaluate(async () => {
      const pc = (globalThis as unknown as { whipPc: { getSenders(): { replaceTrack(t: null): Promise<void> }[] } }).whipPc;
      for (const sender of pc.getSenders()) await sender.replaceTrack(null);
    });
    const started = Date.now();
    await waitFor("the closed publisher's stream to end", async () => ((await status(closing)) === "ended" ? true : undefined), 20_000, 250);
    const closedAfter = Date.now() - started;
    await waitFor("the silent publisher's stream to end", async () => ((await status(silent)) === "ended" ? true : undefined), 30_000, 250);
    process.stdout.write(`# closed publisher ended after ${closedAfter} ms, silent one after ${Date.now() - started} ms (grace 3000 ms, media timeout 4000 ms)\n`);
    assert.match(node.output, /broadcaster \S+ of stream \S+ is gone \((DTLS closed|ICE \w+)\)/);
    assert.match(node.output, /broadcaster \S+ of stream \S+ is gone \(no media for \d+ s\)/);
  });

  it("a viewer resuming its consumer in a loop reaches the broadcaster as a throttled trickle of key frame requests", async () => {
    // The broadcaster's own count of key frame requests (PLI + FIR) it received, over its video layers.
    const asked = () => caster.evaluate(async () => {
      type Producer = { kind: string; getStats(): Promise<Map<string, Record<string, number | string>>> };
      const media = (globalThis as unknown as { liveMedia: { producers: Map<string, Producer> } }).liveMedia;
      let n = 0;
      for (const p of media.producers.values()) {
        if (p.kind !== "video") continue;
        for (const st of (await p.getStats()).values()) if (st.type === "outbound-rtp") n += Number(st.pliCount ?? 0) + Number(st.firCount ?? 0);
      }
      return n;
    });
    const consumerId = (await inbound(v1)).video?.consumerId ?? "";
    assert.ok(consumerId);
    await new Promise((r) => setTimeout(r, 1500));
    const before = await asked();
    const spamMs = await v1.evaluate(async ({ stream, consumerId }) => {
      const media = (globalThis as unknown as { liveMedia: { request(t: string, d: unknown): Promise<unknown> } }).liveMedia;
      const t0 = Date.now();
      // Spread over 4 s: mediasoup already holds back requests while one is pending, so a burst
      // alone would not show the per-producer spacing.
      for (let i = 0; i < 40; i++) {
        await media.request("media.resume", { stream, consumerId });
        await new Promise((r) => setTimeout(r, 100));
      }
      return Date.now() - t0;
    }, { stream: streamId, consumerId });
    await new Promise((r) => setTimeout(r, 2500)); // the last held-back request, and the sender's stats
    const got = (await asked()) - before;
    process.stdout.write(`# 40 resumes in ${spamMs} ms reached the broadcaster as ${got} key frame requests\n`);
    assert.ok(got >= 1, "a resume does ask for a key frame");
    assert.ok(got <= Math.ceil((spamMs + 2500) / 1000) + 3, `${got} key frame requests for 40 resumes in ${spamMs} ms`);
  });

  it("a worker killed with SIGKILL is replaced; its clients are told to reconnect and play again", async () => {
    const before1 = await inbound(v1);
    const pids = workerPids();
    assert.equal(pids.length, 2, `two workers: ${pids.join(",")}`);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    const fresh = await waitFor("two replacement workers", () => {
      const now = workerPids();
      return now.length === 2 && now.every((p) => !pids.includes(p)) ? now : undefined;
    }, 20_000, 200);
    assert.equal(fresh.length, 2);
    for (const page of [v1, caster]) {
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).mediaStates?.includes("reconnect"), undefined, { timeout: 10_000 });
    }
    const after1 = await playing(v1, "viewer 1 after the worker died", before1).catch(async (err: unknown) => {
      const dump = async (p: Page) => p.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
        return { states: g.mediaStates, state: doc.querySelector(".live-state, .broadcast-state")?.textContent, error: doc.querySelector("[role=alert]")?.textContent };
      });
      throw new Error(`${String(err)}\nviewer: ${JSON.stringify(await dump(v1))}\ncaster: ${JSON.stringify(await dump(caster))}\nstats: ${JSON.stringify(await inbound(v1))}\n${node.output.slice(-3000)}`);
    });
    assert.notEqual(after1.video?.consumerId, before1.video?.consumerId);
  });
});
