/**
 * Broadcasting from an encoder with a stream key, end to end on one real node: ffmpeg publishes
 * H.264 + AAC over RTMP as OBS does, a Chromium viewer decodes it over WebRTC (the H.264 passed
 * through, AAC turned into Opus), the key is refused when wrong, a second publisher on the same
 * key is refused, unsupported codecs and malformed RTMP are refused with the connection alone
 * closed, and rotating the key cuts the ingest in progress.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { publishRtmp, type Publisher } from "../tools/harness/encoders.js";
import { appLogin, CHROMIUM, MEDIA_ARGS, playing, viewerPage } from "../tools/harness/media-pages.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { freePort, waitFor } from "../tools/harness/ports.js";
import { postOffer, whipOffer } from "../tools/harness/sdp-offers.js";

let node: PlatformNode;
let browser: Browser;
let rtmpPort = 0;
let srtPort = 0;
let token = "";
const publishers: Publisher[] = [];

const newStream = async (title: string) => ((await api(node.url, "POST", "/api/streams", { title, kind: "live" }, token)).body as { id: string }).id;
const keyOf = async (id: string) => (await api(node.url, "GET", `/api/streams/${id}/key`, undefined, token)).body as { key: string; rtmp: { server: string; key: string } | null; whip: { url: string; bearer: string } };
const rtmpUrl = (key: string) => `rtmp://127.0.0.1:${String(rtmpPort)}/live/${key}`;
const status = async (id: string) => ((await api(node.url, "GET", `/api/streams/${id}`)).body as { status: string }).status;
const publish = (key: string, o: Parameters<typeof publishRtmp>[1] = {}) => {
  const p = publishRtmp(rtmpUrl(key), o);
  publishers.push(p);
  return p;
};

before(async () => {
  rtmpPort = await freePort();
  srtPort = await freePort();
  node = await PlatformNode.start({ env: { ESH_MEDIA_RTMP_PORT: String(rtmpPort), ESH_MEDIA_SRT_PORT: String(srtPort), ESH_GATEWAY_AUTH_BURST_PER_IP: "100", ESH_MEDIA_BROADCASTER_GRACE_MS: "3000", ESH_MEDIA_MEDIA_TIMEOUT_MS: "4000", ESH_MEDIA_LIVE_HLS: "true", ADMIN_USER: "boss", ADMIN_PASSWORD: "boss password 1" } });
  await api(node.url, "POST", "/api/auth/register", { username: "obs", password: "obs password 12", role: "creator" });
  token = (await api(node.url, "POST", "/api/auth/login", { username: "obs", password: "obs password 12" })).body.accessToken as string;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: MEDIA_ARGS });
});

after(async () => {
  for (const p of publishers) p.stop();
  await browser.close();
  await node.stop();
});

describe("RTMP ingest with a stream key", () => {
  it("the owner gets a key and the RTMP settings; nobody else does", async () => {
    const id = await newStream("Key check");
    const k = await keyOf(id);
    assert.match(k.key, new RegExp(`^${id}\\.[A-Za-z0-9_-]{32}$`));
    assert.deepEqual(k.rtmp, { server: `rtmp://{host}:${String(rtmpPort)}/live`, key: k.key });
    assert.equal((await keyOf(id)).key, k.key, "revealed again, the same");
    await api(node.url, "POST", "/api/auth/register", { username: "other", password: "other password 1", role: "creator" });
    const other = (await api(node.url, "POST", "/api/auth/login", { username: "other", password: "other password 1" })).body.accessToken as string;
    assert.equal((await api(node.url, "GET", `/api/streams/${id}/key`, undefined, other)).status, 403);
    assert.equal((await api(node.url, "GET", `/api/streams/${id}/key`)).status, 401);
  });

  it("ffmpeg publishes H.264 + AAC over RTMP; a Chromium viewer decodes video and receives audio over WebRTC", async () => {
    const id = await newStream("From OBS");
    const { key } = await keyOf(id);
    publish(key, { seconds: 120 });
    await waitFor("the stream live", async () => ((await status(id)) === "live" ? true : undefined), 20_000, 250);
    const viewer = await viewerPage(browser, node.url, id);
    const got = await playing(viewer, "the viewer of the RTMP stream");
    assert.ok((got.video?.frameHeight ?? 0) >= 360, `decoded ${String(got.video?.frameHeight)}p`);
    assert.match(node.output, /rtmp ingest of \S+: H\.264 [0-9a-f]{6} \+ AAC -> Opus/);

    // A second publisher on the same key is refused while the first is live.
    const second = publish(key, { seconds: 30 });
    assert.notEqual(await second.exited, 0);
    assert.match(node.output, /refused: this stream is already being published/);

    // Rotating the key cuts the ingest in progress; the old key is refused from then on.
    const first = publishers.find((p) => p !== second && p.proc.exitCode === null);
    assert.ok(first);
    const rotated = await api(node.url, "POST", `/api/streams/${id}/key`, undefined, token);
    assert.equal(rotated.status, 200);
    assert.notEqual((rotated.body as { key: string }).key, key);
    assert.notEqual(await Promise.race([first.exited, new Promise((r) => setTimeout(() => r("still running"), 15_000))]), "still running", "the running ingest was cut");
    assert.match(node.output, /closed \(the stream key was rotated or revoked\)/);
    const old = publish(key, { seconds: 10 });
    assert.notEqual(await old.exited, 0);
    await viewer.context().close();
  });

  it("a wrong key is refused before media flows, with a security log line", async () => {
    const id = await newStream("Wrong key");
    const p = publish(`${id}.${"x".repeat(32)}`, { seconds: 10 });
    assert.notEqual(await p.exited, 0);
    assert.equal(await status(id), "created");
    assert.match(node.output, /"event":"auth\.failed"[^\n]*"via":"rtmp"|auth\.failed[^\n]*rtmp/);
  });

  it("unsupported codecs are refused with the reason (MP3 audio)", async () => {
    const id = await newStream("MP3 audio");
    const { key } = await keyOf(id);
    const p = publish(key, { seconds: 10, audio: ["-c:a", "libmp3lame", "-ar", "44100"] });
    assert.notEqual(await p.exited, 0);
    assert.match(node.output, /MP3 audio is not supported: send AAC/);
    // The owner's studio shows why (GET /api/streams/:id/ingest).
    const seen = await waitFor("the refusal in the ingest status", async () => ((await api(node.url, "GET", `/api/streams/${id}/ingest`, undefined, token)).body as { lastRefusal?: { why: string } }).lastRefusal, 10_000, 250);
    assert.match(seen.why, /MP3 audio is not supported: send AAC/);
  });

  it("malformed RTMP closes that connection only; the node keeps serving", async () => {
    const garbage = await new Promise<string>((resolve) => {
      const s = net.connect(rtmpPort, "127.0.0.1", () => {
        s.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 7)])); // a handshake...
        setTimeout(() => s.write(Buffer.alloc(1536, 1)), 100);
        // ...then a chunk announcing a 16 MiB message (fmt 0, csid 2, timestamp 0, length 0xffffff, type 20).
        setTimeout(() => s.write(Buffer.from([0x02, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0, 1, 2, 3])), 200);
      });
      s.resume(); // read the server's handshake, so that its close reaches us
      s.on("close", () => resolve("closed"));
      s.on("error", () => undefined);
    });
    assert.equal(garbage, "closed");
    assert.equal((await api(node.url, "GET", "/healthz")).status, 200);
    assert.match(node.output, /rtmp \S+: closed \(malformed: message of \d+ bytes\)/);
  });

  it("WHIP takes the stream key as its bearer token (OBS keeps it); only for its own stream; rotating it ends the session", async () => {
    const id = await newStream("OBS over WHIP");
    const other = await newStream("Another show");
    const { key, whip } = await keyOf(id);
    assert.deepEqual(whip, { url: `/api/whip/${id}`, bearer: key });
    const ok = await postOffer(`${node.url}/api/whip/${id}`, whipOffer(), key);
    assert.equal(ok.status, 201, ok.message);
    assert.equal((await postOffer(`${node.url}/api/whip/${other}`, whipOffer(), key)).status, 403, "a key publishes to its own stream only");
    assert.equal((await postOffer(`${node.url}/api/whip/${id}`, whipOffer(), `${id}.${"y".repeat(32)}`)).status, 401);
    assert.equal((await postOffer(`${node.url}/api/whep/${id}`, whipOffer(), key)).status, 401, "a stream key is not a viewer token");
    const session = ok.location ?? "";
    await api(node.url, "POST", `/api/streams/${id}/key`, undefined, token);
    await waitFor("the WHIP session closed by the rotation", async () => ((await api(node.url, "DELETE", session, undefined, token)).status === 404 ? true : undefined), 5000, 200);
    assert.equal((await postOffer(`${node.url}/api/whip/${id}`, whipOffer(), key)).status, 401, "the old key is refused");
  });

  it("the studio shows the RTMP settings with the key hidden until revealed, and what comes in", async () => {
    const id = await newStream("Studio encoder");
    const { key } = await keyOf(id);
    const page = await (await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] })).newPage();
    await page.goto(`${node.url}/app/`);
    await appLogin(page, "obs", "obs password 12");
    await page.goto(`${node.url}/app/studio`);
    await page.click(`.stream-list li:has(a[href='/app/watch/${id}']) button:text-is('Open studio')`);
    await page.click("summary:text-is('Stream from OBS or another encoder')");
    assert.equal(await page.inputValue("input[aria-label='RTMP server']"), `rtmp://127.0.0.1:${String(rtmpPort)}/live`);
    assert.equal(await page.getAttribute("input[aria-label='Stream key']", "type"), "password", "hidden until revealed");
    await page.click("button:text-is('Show key')");
    assert.equal(await page.getAttribute("input[aria-label='Stream key']", "type"), "text");
    assert.equal(await page.inputValue("input[aria-label='Stream key']"), key);
    await page.locator(".ingest-status", { hasText: "Nothing is coming in." }).waitFor();
    publish(key, { seconds: 60 });
    await page.locator(".ingest-status", { hasText: /Live over RTMP: [1-9]\d* kbit\/s · 2[0-9] fps · 640x360 · audio/ }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: "test/artifacts/studio-encoder.png", fullPage: true });
    await page.context().close();
  });

  it("an RTMP show is packaged as live HLS while it runs, and its recording becomes a VOD of its owner", async () => {
    const id = await newStream("Recorded from OBS");
    const { key } = await keyOf(id);
    const p = publish(key, { seconds: 14 });
    await waitFor("live HLS of the RTMP show", async () => ((await fetch(`${node.url}/live/${id}/master.m3u8`)).status === 200 ? true : undefined), 20_000, 500);
    // A Chromium viewer plays it over HLS (hls.js in the app's watch page).
    const hlsViewer = await (await browser.newContext()).newPage();
    await hlsViewer.goto(`${node.url}/app/watch/${id}?mode=hls`);
    await waitFor("hls.js playing the RTMP show", async () => ((await hlsViewer.evaluate<number>("document.querySelector('video')?.currentTime ?? 0")) > 1 ? true : undefined), 20_000, 250);
    await hlsViewer.context().close();
    await p.exited; // the encoder stops: the grace period, then the end
    await waitFor("the show ended", async () => ((await status(id)) === "ended" ? true : undefined), 20_000, 250);
    const vod = await waitFor("the recording encoded as VOD", async () => {
      const list = (await api(node.url, "GET", "/api/streams?limit=50")).body as unknown as { id: string; title: string; kind: string; status: string }[];
      const r = list.find((x) => x.kind === "vod" && x.title === "Recorded from OBS (recording)");
      if (r?.status === "failed") throw new Error("the recording failed to encode");
      return r?.status === "ready" ? r : undefined;
    }, 120_000, 500);
    assert.match(await (await fetch(`${node.url}/vod/${vod.id}/master.m3u8`)).text(), /^\d+p\/index\.m3u8$/m);
  });

  it("an encoder that stalls (connection open, no media) is dropped like a vanished broadcaster: grace, then the end", async () => {
    const id = await newStream("Frozen encoder");
    const { key } = await keyOf(id);
    const p = publish(key, { seconds: 120 });
    await waitFor("the stream live", async () => ((await status(id)) === "live" ? true : undefined), 20_000, 250);
    const started = Date.now();
    p.proc.kill("SIGSTOP"); // the TCP connection stays open; nothing more is sent
    await waitFor("the stalled show ended", async () => ((await status(id)) === "ended" ? true : undefined), 30_000, 250);
    process.stdout.write(`# a stalled RTMP encoder ended its show after ${String(Date.now() - started)} ms (media timeout 4000 ms, grace 3000 ms)\n`);
    assert.match(node.output, /closed \(no media came in \(stalled\)\)/);
    p.proc.kill("SIGKILL");
  });

  it("an owner demoted to viewer is cut off and their key refused (RTMP and WHIP); deleting a stream ends its ingest", async () => {
    await api(node.url, "POST", "/api/auth/register", { username: "demoted", password: "demoted password 1", role: "creator" });
    const login = await api(node.url, "POST", "/api/auth/login", { username: "demoted", password: "demoted password 1" });
    const t = login.body.accessToken as string;
    const userId = ((await api(node.url, "GET", "/api/auth/me", undefined, t)).body.principal as { userId: string }).userId;
    const id = ((await api(node.url, "POST", "/api/streams", { title: "Soon demoted", kind: "live" }, t)).body as { id: string }).id;
    const key = ((await api(node.url, "GET", `/api/streams/${id}/key`, undefined, t)).body as { key: string }).key;
    const running = publish(key, { seconds: 120 });
    await waitFor("the stream live", async () => ((await status(id)) === "live" ? true : undefined), 20_000, 250);
    const boss = (await api(node.url, "POST", "/api/auth/login", { username: "boss", password: "boss password 1" })).body.accessToken as string;
    assert.equal((await api(node.url, "POST", `/api/admin/users/${userId}/role`, { role: "viewer" }, boss)).status, 200);
    assert.notEqual(await Promise.race([running.exited, new Promise((r) => setTimeout(() => r("still running"), 15_000))]), "still running", "the running ingest was cut");
    const again = publish(key, { seconds: 10 });
    assert.notEqual(await again.exited, 0, "a viewer's key publishes nothing");
    assert.match(node.output, /The stream's owner may no longer broadcast|wrong, rotated or revoked stream key/);
    assert.equal((await postOffer(`${node.url}/api/whip/${id}`, whipOffer(), key)).status, 401);
    // Deleting a stream that is live over RTMP ends its ingest.
    const gone = await newStream("Deleted while live");
    const goneKey = (await keyOf(gone)).key;
    const p = publish(goneKey, { seconds: 120 });
    await waitFor("live", async () => ((await status(gone)) === "live" ? true : undefined), 20_000, 250);
    assert.equal((await api(node.url, "DELETE", `/api/streams/${gone}`, undefined, token)).status, 200);
    assert.notEqual(await Promise.race([p.exited, new Promise((r) => setTimeout(() => r("still running"), 15_000))]), "still running", "the deleted stream's ingest was cut");
  });

  it("SRT: two encoders on one port, told apart by their streamid (the stream key), both live and watchable; a wrong key is refused in the handshake", async () => {
    const [a, b] = [await newStream("SRT one"), await newStream("SRT two")];
    const [ka, kb] = [(await keyOf(a)).key, (await keyOf(b)).key];
    const srt = (key: string) => `srt://127.0.0.1:${String(srtPort)}?streamid=${key}`;
    const pa = publishRtmp(srt(ka), { seconds: 120 });
    const pb = publishRtmp(srt(kb), { seconds: 120 });
    publishers.push(pa, pb);
    await waitFor("both SRT shows live", async () => ((await status(a)) === "live" && (await status(b)) === "live" ? true : undefined), 30_000, 250);
    assert.match(node.output, /srt ingest of \S+: H\.264 \w[\w ]* 640x360 \+ AAC -> Opus/);
    const viewer = await viewerPage(browser, node.url, b);
    const got = await playing(viewer, "the viewer of an SRT show").catch((err: unknown) => {
      const lines = node.output.split("\n").filter((l) => /srt|ingest|ffmpeg|producer/i.test(l));
      throw new Error(`${String(err)}\nthe node said:\n${lines.slice(-40).join("\n")}`);
    });
    assert.ok((got.video?.frameHeight ?? 0) >= 360);
    await viewer.context().close();
    const wrong = publishRtmp(srt(`${a}.${"z".repeat(32)}`), { seconds: 10 });
    publishers.push(wrong);
    assert.notEqual(await wrong.exited, 0);
    assert.match(node.output, /srt \S+: refused: wrong, rotated or revoked stream key/);
    const status2 = (await api(node.url, "GET", `/api/streams/${a}/ingest`, undefined, token)).body as { ingest: string; height: number };
    assert.equal(status2.ingest, "srt");
  });

  it("SRT: HEVC is refused with the reason, even when the stream's metadata pretends to be H.264", async () => {
    const id = await newStream("SRT HEVC");
    const key = (await keyOf(id)).key;
    const fake = "Stream #0:0: Video: h264 (High), yuv420p, 640x360, 25 fps";
    const p = publishRtmp(`srt://127.0.0.1:${String(srtPort)}?streamid=${key}`, { seconds: 20, video: ["-c:v", "libx265", "-preset", "ultrafast", "-g", "25", "-x265-params", "log-level=error", "-metadata", `service_name=${fake}`] });
    publishers.push(p);
    const seen = await waitFor("the HEVC refusal in the ingest status", async () => ((await api(node.url, "GET", `/api/streams/${id}/ingest`, undefined, token)).body as { lastRefusal?: { why: string } }).lastRefusal, 20_000, 250);
    assert.match(seen.why, /hevc video is not supported: send H\.264/);
    assert.notEqual(await status(id), "live");
    p.stop();
  });
});
