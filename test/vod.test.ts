/**
 * VOD end to end with real ffmpeg/ffprobe: a generated clip (lavfi testsrc + sine) is uploaded
 * with the tus protocol in two chunks, encoded by the encoders actor into an AES-128 HLS
 * ladder, and served: every rendition has the expected resolution and 2 s segments (checked
 * with ffprobe through the key endpoint); keys need a valid token; traversal gets 404; Range
 * and ETag work; a corrupt upload gets a clear error and nothing crashes.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { api, metricsText, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { WsClient } from "../tools/harness/ws-client.js";

let node: PlatformNode;
let token: string;
let expiring: string;
let clip: Buffer;
let dir: string;
let streamId: string;
const progress: { status: string; percent: number }[] = [];

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function tus(method: string, url: string, headers: Record<string, string>, body?: Buffer): Promise<Response> {
  return fetch(`${node.url}${url}`, { method, headers: { "tus-resumable": "1.0.0", authorization: `Bearer ${token}`, ...headers }, ...(body ? { body } : {}) });
}

/** Uploads in two chunks; returns the final PATCH response and the ids. */
async function upload(bytes: Buffer, title: string): Promise<{ last: Response; uploadId: string; streamId: string }> {
  const created = await tus("POST", "/api/uploads", { "upload-length": String(bytes.length), "upload-metadata": `title ${b64(title)},filename ${b64("../../etc/passwd")}` });
  assert.equal(created.status, 201, await created.clone().text());
  const { uploadId, streamId: sid } = (await created.json()) as { uploadId: string; streamId: string };
  assert.equal(created.headers.get("location"), `/api/uploads/${uploadId}`);
  const half = Math.floor(bytes.length / 2);
  const first = await tus("PATCH", `/api/uploads/${uploadId}`, { "content-type": "application/offset+octet-stream", "upload-offset": "0" }, bytes.subarray(0, half));
  assert.equal(first.status, 204);
  assert.equal(first.headers.get("upload-offset"), String(half));
  const head = await tus("HEAD", `/api/uploads/${uploadId}`, {});
  assert.equal(head.headers.get("upload-offset"), String(half), "HEAD tells where to resume");
  const stale = await tus("PATCH", `/api/uploads/${uploadId}`, { "content-type": "application/offset+octet-stream", "upload-offset": "0" }, bytes.subarray(0, 10));
  assert.equal(stale.status, 409, "a chunk at the wrong offset is refused");
  const last = await tus("PATCH", `/api/uploads/${uploadId}`, { "content-type": "application/offset+octet-stream", "upload-offset": String(half) }, bytes.subarray(half));
  return { last, uploadId, streamId: sid };
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "esh-vod-"));
  const file = path.join(dir, "clip.mp4");
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", file]);
  clip = readFileSync(file);
  node = await PlatformNode.start({ env: { ESH_GATEWAY_AUTH_BURST_PER_IP: "100", ESH_AUTH_GUEST_TTL_SEC: "5", ESH_VOD_ENCODER_CONCURRENCY: "1" } });
  await api(node.url, "POST", "/api/auth/register", { username: "maker", password: "maker password 1", role: "creator" });
  token = (await api(node.url, "POST", "/api/auth/login", { username: "maker", password: "maker password 1" })).body.accessToken as string;
  expiring = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
});

after(async () => {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("VOD: upload, encode, deliver", () => {
  it("a tus upload becomes an encrypted HLS ladder, with progress pushed to the creator", async () => {
    const ws = await WsClient.connect(node.wsUrl, { token });
    ws.ws.on("message", () => {
      for (const f of ws.frames.splice(0)) if (f.t === "encode.progress") progress.push(f.d as { status: string; percent: number });
    });
    const { last, streamId: sid } = await upload(clip, "Test pattern");
    streamId = sid;
    assert.equal(last.status, 204, await last.text());
    const ready = await waitFor("the asset to be ready", async () => {
      const s = (await api(node.url, "GET", `/api/streams/${streamId}`)).body as { status: string };
      if (s.status === "failed") throw new Error(`encoding failed:\n${node.output.slice(-2000)}`);
      return s.status === "ready" ? s : undefined;
    }, 90_000, 250);
    assert.equal(ready.status, "ready");
    await waitFor("the done event", () => progress.some((p) => p.status === "done"), 5000);
    assert.ok(progress.some((p) => p.status === "running" && p.percent > 0 && p.percent < 100), JSON.stringify(progress));
    ws.ws.close();
  });

  it("every rendition has its resolution and 2 s segments, readable only through the key endpoint", async () => {
    const master = await fetch(`${node.url}/vod/${streamId}/master.m3u8`);
    assert.equal(master.headers.get("content-type"), "application/vnd.apple.mpegurl");
    const text = await master.text();
    const names = [...text.matchAll(/^(\d+p)\/index\.m3u8$/gm)].map((m) => m[1]);
    assert.deepEqual(names, ["240p", "480p", "720p"], text);
    for (const [name, height] of [["240p", 240], ["480p", 480], ["720p", 720]] as const) {
      const playlist = await (await fetch(`${node.url}/vod/${streamId}/${name}/index.m3u8`)).text();
      assert.match(playlist, /#EXT-X-KEY:METHOD=AES-128,URI="\/api\/keys\//);
      const durations = [...playlist.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
      assert.equal(durations.length, 3, playlist);
      for (const d of durations) assert.ok(Math.abs(d - 2) < 0.05, `segment of ${d} s`);
      const probe = JSON.parse(execFileSync("ffprobe", ["-v", "error", "-headers", `Authorization: Bearer ${token}\r\n`, "-allowed_extensions", "ALL", "-print_format", "json", "-show_streams", "-show_format", `${node.url}/vod/${streamId}/${name}/index.m3u8`], { encoding: "utf8" })) as { streams: { codec_type: string; height?: number; codec_name: string }[]; format: { duration: string; bit_rate?: string } };
      const v = probe.streams.find((s) => s.codec_type === "video");
      assert.equal(v?.height, height);
      assert.equal(v.codec_name, "h264");
      assert.ok(probe.streams.some((s) => s.codec_type === "audio" && s.codec_name === "aac"));
      assert.ok(Math.abs(Number(probe.format.duration) - 6) < 0.3, `duration ${probe.format.duration}`);
    }
    // Without the key a segment is noise: ffprobe without a token cannot read the stream.
    const noKey = await fetch(`${node.url}/api/keys/${streamId}`);
    assert.equal(noKey.status, 401);
    const withKey = await fetch(`${node.url}/api/keys/${streamId}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(withKey.status, 200);
    assert.equal((await withKey.arrayBuffer()).byteLength, 16);
    assert.match(withKey.headers.get("cache-control") ?? "", /no-store/);
    const poster = await fetch(`${node.url}/vod/${streamId}/poster.jpg`);
    assert.equal(poster.headers.get("content-type"), "image/jpeg");
    assert.equal((await fetch(`${node.url}/vod/${streamId}/sprite.jpg`)).status, 200);
  });

  it("a signed playback URL plays without any header (native HLS players); a tampered one is refused", async () => {
    const res = await api(node.url, "GET", `/api/playback/${streamId}`, undefined, token);
    assert.equal(res.status, 200);
    const { master, expiresAt } = res.body as { master: string; expiresAt: number };
    assert.ok(expiresAt > Date.now());
    const pt = new URL(master, node.url).searchParams.get("pt") ?? "";
    const signedMaster = await (await fetch(`${node.url}${master}`)).text();
    assert.match(signedMaster, /^480p\/index\.m3u8\?pt=/m);
    const variant = await fetch(`${node.url}/vod/${streamId}/480p/index.m3u8?pt=${encodeURIComponent(pt)}`);
    assert.match(variant.headers.get("cache-control") ?? "", /no-store/);
    const keyUri = /URI="([^"]+)"/.exec(await variant.text())?.[1] ?? "";
    assert.match(keyUri, /^\/api\/keys\/.+\?pt=/);
    const key = await fetch(`${node.url}${keyUri}`);
    assert.equal(key.status, 200);
    assert.equal((await key.arrayBuffer()).byteLength, 16);
    const probe = JSON.parse(execFileSync("ffprobe", ["-v", "error", "-print_format", "json", "-show_streams", `${node.url}${master}`], { encoding: "utf8" })) as { streams: { codec_type: string }[] };
    assert.ok(probe.streams.some((s) => s.codec_type === "video"), "ffprobe decrypted the signed stream with no header");
    const tampered = pt.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    assert.equal((await fetch(`${node.url}/api/keys/${streamId}?pt=${encodeURIComponent(tampered)}`)).status, 403);
    assert.equal((await fetch(`${node.url}/vod/${streamId}/master.m3u8?pt=${encodeURIComponent(tampered)}`)).status, 403);
    assert.equal((await fetch(`${node.url}/api/keys/other-asset?pt=${encodeURIComponent(pt)}`)).status, 403, "a URL signed for one asset opens no other");
  });

  it("keys refuse expired tokens; traversal gets 404; Range and ETag work", async () => {
    const { exp } = JSON.parse(Buffer.from(expiring.split(".")[1] ?? "", "base64url").toString()) as { exp: number };
    await waitFor("the guest token to expire", () => Date.now() / 1000 > exp + 1 || undefined, 10_000, 200);
    const expired = await fetch(`${node.url}/api/keys/${streamId}`, { headers: { authorization: `Bearer ${expiring}` } });
    assert.equal(expired.status, 401);
    assert.equal(((await expired.json()) as { error: { code: string } }).error.code, "TOKEN_EXPIRED");
    for (const bad of [`/vod/${streamId}/../../store.sqlite`, `/vod/${streamId}/%2e%2e/%2e%2e/store.sqlite`, `/vod/${streamId}/720p/..%2F..%2F..%2Fstore.sqlite`, `/vod/${streamId}/720p/seg_00000.sh`, "/vod/..%2f..%2fetc/passwd"]) {
      assert.equal((await fetch(`${node.url}${bad}`)).status, 404, bad);
    }
    const seg = `${node.url}/vod/${streamId}/720p/seg_00000.ts`;
    const full = await fetch(seg);
    assert.equal(full.headers.get("content-type"), "video/mp2t");
    assert.match(full.headers.get("cache-control") ?? "", /immutable/);
    const etag = full.headers.get("etag") ?? "";
    const size = (await full.arrayBuffer()).byteLength;
    const part = await fetch(seg, { headers: { range: "bytes=0-99" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), `bytes 0-99/${size}`);
    assert.equal((await part.arrayBuffer()).byteLength, 100);
    assert.equal((await fetch(seg, { headers: { range: `bytes=${size + 10}-` } })).status, 416);
    assert.equal((await fetch(seg, { headers: { "if-none-match": etag } })).status, 304);
  });

  it("an edge node caches the origin: 100 simultaneous requests for a cold segment cost one origin fetch", async () => {
    const edge = await PlatformNode.start({ services: "gateway,sessions,streams,rooms", env: { ESH_GATEWAY_EDGE_ORIGIN: node.url, ESH_GATEWAY_HTTP_BURST_PER_IP: "1000" } });
    try {
      const seg = `/vod/${streamId}/480p/seg_00001.ts`;
      const original = Buffer.from(await (await fetch(`${node.url}${seg}`)).arrayBuffer());
      const answers = await Promise.all(Array.from({ length: 100 }, () => fetch(`${edge.url}${seg}`).then(async (r) => ({ status: r.status, cache: r.headers.get("x-cache"), body: Buffer.from(await r.arrayBuffer()) }))));
      for (const a of answers) {
        assert.equal(a.status, 200);
        assert.equal(a.cache, "edge");
        assert.ok(a.body.equals(original));
      }
      const gauge = async (name: string) => Number(new RegExp(`^esh_edge_${name}\\{[^}]*\\} (\\d+)`, "m").exec(await metricsText(edge.url))?.[1] ?? NaN);
      await waitFor("edge metrics", async () => ((await gauge("misses")) + (await gauge("hits")) >= 100 ? true : undefined), 3000);
      assert.equal(await gauge("originFetches"), 1);
      const again = await fetch(`${edge.url}${seg}`, { headers: { range: "bytes=10-19" } });
      assert.equal(again.status, 206);
      assert.ok(Buffer.from(await again.arrayBuffer()).equals(original.subarray(10, 20)));
      await waitFor("a hit counted", async () => ((await gauge("misses")) + (await gauge("hits")) >= 101 ? true : undefined), 3000);
      assert.equal(await gauge("originFetches"), 1);
      assert.equal((await fetch(`${edge.url}/vod/${streamId}/%2e%2e/%2e%2e/store.sqlite`)).status, 404);
      assert.equal((await fetch(`${edge.url}/vod/${streamId}/480p/seg_99999.ts`)).status, 404);
    } finally {
      await edge.stop();
    }
  });

  it("the CLI uploader shows progress and prints the watch URL", async () => {
    const file = path.join(dir, "cli.mp4");
    writeFileSync(file, clip);
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ["--import", "tsx", "scripts/upload.ts", file, "--title", "From the CLI", "--url", node.url, "--user", "maker", "--password", "maker password 1"], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      p.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /upload +\[#+\] 100%/);
    assert.match(out.stdout, /encoding +\[#*\s*\] +\d+% running/);
    const url = /ready: (\S+)/.exec(out.stdout)?.[1] ?? "";
    const id = /^\/app\/watch\/([A-Za-z0-9_-]+)$/.exec(new URL(url).pathname)?.[1] ?? "";
    assert.ok(id, `a watch URL of the app: ${url}`);
    assert.equal(((await api(node.url, "GET", `/api/streams/${id}`)).body as { status: string; title: string }).status, "ready");
  });

  it("a corrupt upload gets a clear error, its stream fails, and the node keeps serving", async () => {
    const junk = Buffer.concat([Buffer.from("\x00\x00\x00\x18ftypmp42"), Buffer.alloc(40_000, 7)]);
    const { last, streamId: sid } = await upload(junk, "Broken");
    assert.equal(last.status, 400);
    assert.match(((await last.json()) as { error: { message: string } }).error.message, /media file|container|video/i);
    assert.equal(((await api(node.url, "GET", `/api/streams/${sid}`)).body as { status: string }).status, "failed");
    const wrongType = await tus("PATCH", "/api/uploads/whatever", { "content-type": "application/json", "upload-offset": "0" }, Buffer.from("{}"));
    assert.equal(wrongType.status, 415);
    const tooBig = await tus("POST", "/api/uploads", { "upload-length": String(2 ** 52) });
    assert.equal(tooBig.status, 413);
    assert.equal((await fetch(`${node.url}/healthz`)).status, 200);
  });
});
