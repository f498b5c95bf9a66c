/**
 * Live to HLS: a broadcaster goes live from Chromium's fake camera; the media node feeds the
 * stream over PlainTransports into ffmpeg, which writes a sliding-window HLS ladder that the
 * gateway serves at /live/<id>/ — read back with ffprobe and played by hls.js in the watch page;
 * when the stream ends, its recording becomes a VOD asset.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM, endLive, goLive, MEDIA_ARGS } from "../tools/harness/media-pages.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";

let node: PlatformNode;
let browser: Browser;
let streamId: string;

before(async () => {
  node = await PlatformNode.start({ env: { ESH_MEDIA_LIVE_HLS: "true", ESH_GATEWAY_AUTH_BURST_PER_IP: "100" } });
  await api(node.url, "POST", "/api/auth/register", { username: "anchor", password: "anchor password 1", role: "creator" });
  const token = (await api(node.url, "POST", "/api/auth/login", { username: "anchor", password: "anchor password 1" })).body.accessToken as string;
  streamId = (await api(node.url, "POST", "/api/streams", { title: "Live and cached", kind: "live" }, token)).body.id as string;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
});

after(async () => {
  await browser.close();
  await node.stop();
});

describe("live to HLS", () => {
  it("a WebRTC broadcast is also served as a live HLS ladder, playable by hls.js", async () => {
    const caster = await goLive(browser, node.url, "anchor", "anchor password 1", streamId);
    const playlist = await waitFor("live HLS segments", async () => {
      const r = await fetch(`${node.url}/live/${streamId}/480p/index.m3u8`);
      const text = r.status === 200 ? await r.text() : "";
      return (text.match(/#EXTINF/g) ?? []).length >= 2 ? { text, cache: r.headers.get("cache-control") } : undefined;
    }, 60_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${node.output.split("\n").filter((l) => /HLS|ffmpeg/i.test(l)).slice(-5).join("\n")}`);
    });
    assert.match(playlist.cache ?? "", /max-age=1/);
    assert.doesNotMatch(playlist.text, /#EXT-X-ENDLIST/, "a live playlist has no end");
    const master = await (await fetch(`${node.url}/live/${streamId}/master.m3u8`)).text();
    assert.deepEqual([...master.matchAll(/^(\d+p)\/index\.m3u8$/gm)].map((m) => m[1]), ["240p", "480p", "720p"]);
    // Encrypted with rotating keys that need a token.
    const keyUri = /#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/.exec(playlist.text)?.[1] ?? "";
    assert.match(keyUri, new RegExp(`^/api/livekeys/${streamId}/[a-z0-9]+-\\d+$`));
    assert.equal((await fetch(`${node.url}${keyUri}`)).status, 401);
    const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    const key = await fetch(`${node.url}${keyUri}`, { headers: { authorization: `Bearer ${guest}` } });
    assert.equal(key.status, 200);
    assert.equal((await key.arrayBuffer()).byteLength, 16);
    const probe = JSON.parse(execFileSync("ffprobe", ["-v", "error", "-headers", `Authorization: Bearer ${guest}\r\n`, "-print_format", "json", "-show_streams", `${node.url}/live/${streamId}/480p/index.m3u8`], { encoding: "utf8" })) as { streams: { codec_type: string; height?: number; codec_name: string }[] };
    assert.equal(probe.streams.find((s) => s.codec_type === "video")?.height, 480);
    assert.ok(probe.streams.some((s) => s.codec_type === "audio" && s.codec_name === "aac"));
    const rotated = await waitFor("a key rotation", async () => {
      const text = await (await fetch(`${node.url}/live/${streamId}/480p/index.m3u8`)).text();
      const uris = new Set([...text.matchAll(/#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/g)].map((m) => m[1]));
      return uris.size >= 2 ? uris : undefined;
    }, 30_000, 500);
    assert.ok(rotated.size >= 2);
    const viewer = await (await browser.newContext()).newPage();
    await viewer.goto(`${node.url}/app/watch/${streamId}?mode=hls`);
    await waitFor("hls.js playing the live stream", async () => {
      const t = await viewer.evaluate<number>("document.querySelector('video')?.currentTime ?? 0");
      return t > 1 || undefined;
    }, 30_000, 250);

    // Ending the stream turns its recording into a VOD asset of the same owner.
    await endLive(caster);
    const recording = await waitFor("the recording encoded as VOD", async () => {
      const list = (await api(node.url, "GET", "/api/streams?limit=20")).body as unknown as { id: string; title: string; kind: string; status: string }[];
      const r = list.find((x) => x.kind === "vod" && x.title === "Live and cached (recording)");
      if (r?.status === "failed") throw new Error(`recording failed:\n${node.output.split("\n").filter((l) => /record|encoders/i.test(l)).slice(-5).join("\n")}`);
      return r?.status === "ready" ? r : undefined;
    }, 120_000, 500);
    const recorded = await (await fetch(`${node.url}/vod/${recording.id}/master.m3u8`)).text();
    assert.match(recorded, /^\d+p\/index\.m3u8$/m);
  });
});
