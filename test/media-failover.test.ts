/**
 * Issue 21, a media worker lost: in real Chromium, a broadcaster and two viewers of one stream
 * spread over two mediasoup workers (one viewer per router); SIGKILL the worker that serves only
 * the second viewer. That viewer is told to join again and plays again; the broadcaster and the
 * first viewer never notice (no reconnect, the same consumer, frames still counting).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { CHROMIUM, goLive, inbound, MEDIA_ARGS, playing, viewerPage, type PageGlobals } from "../tools/harness/media-pages.js";

let node: PlatformNode;
let browser: Browser;
let streamId = "";

function workerPids(): number[] {
  const out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(node.proc.pid)], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes("mediasoup")).map((l) => Number.parseInt(l, 10));
}

const states = (p: Page) => p.evaluate(() => (globalThis as unknown as PageGlobals).mediaStates ?? []);

before(async () => {
  // Two consumers per router: each viewer (audio and video) fills one, so the second viewer is
  // served by a router on the other worker.
  node = await PlatformNode.start({ env: { ESH_MEDIA_WORKERS: "2", ESH_MEDIA_MAX_CONSUMERS_PER_ROUTER: "2", ESH_GATEWAY_AUTH_BURST_PER_IP: "100" } });
  await api(node.url, "POST", "/api/auth/register", { username: "caster", password: "caster password 1", role: "creator" });
  const host = await api(node.url, "POST", "/api/auth/login", { username: "caster", password: "caster password 1" });
  streamId = (await api(node.url, "POST", "/api/streams", { title: "Two workers", kind: "live" }, host.body.accessToken as string)).body.id as string;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
});

after(async () => {
  await browser.close();
  await node.stop();
});

describe("a media worker lost under some viewers", () => {
  it("only the viewers on the dead worker notice: they join again and play; the broadcaster and the others go on", async () => {
    const caster = await goLive(browser, node.url, "caster", "caster password 1", streamId);
    const v1 = await viewerPage(browser, node.url, streamId);
    const first1 = await playing(v1, "viewer 1");
    const v2 = await viewerPage(browser, node.url, streamId);
    const first2 = await playing(v2, "viewer 2");
    // The stream's origin router (the broadcaster and viewer 1) was made on worker slot 0, the
    // first started (the lower pid); viewer 2's router on slot 1. Were it otherwise, the
    // assertions below (who reconnects) would fail, not pass.
    const pids = workerPids().sort((a, b) => a - b);
    assert.equal(pids.length, 2, `two workers: ${pids.join(",")}`);
    const spare = pids[1] ?? 0;
    const killedAt = Date.now();
    process.kill(spare, "SIGKILL");
    // Video again: the first frame of a new consumer.
    const firstFrameMs = await waitFor("viewer 2's video again", async () => {
      const s = await inbound(v2);
      return s.video && s.video.consumerId !== first2.video?.consumerId && s.video.framesDecoded > 0 ? Date.now() - killedAt : undefined;
    }, 30_000, 50);
    console.log(`# viewer 2: video again ${String(firstFrameMs)} ms after its worker was killed`);
    assert.ok((await states(v2)).includes("reconnect"), "viewer 2 was told to join again");
    const again2 = await playing(v2, "viewer 2 again", first2);
    assert.notEqual(again2.video?.consumerId, first2.video?.consumerId);
    // Viewer 1 and the broadcaster: no reconnect, the same consumer, still decoding.
    assert.ok(!(await states(v1)).includes("reconnect"), `viewer 1 states: ${JSON.stringify(await states(v1))}`);
    assert.ok(!(await states(caster)).includes("reconnect"));
    const a = await inbound(v1);
    await new Promise((r) => setTimeout(r, 1500));
    const b = await inbound(v1);
    assert.equal(b.video?.consumerId, first1.video?.consumerId, "viewer 1 kept its consumer");
    assert.ok((b.video?.framesDecoded ?? 0) > (a.video?.framesDecoded ?? 0) + 10, `viewer 1 still decoding: ${JSON.stringify([a.video, b.video])}`);
    assert.equal(await caster.textContent(".broadcast-state"), "live");
  });
});
