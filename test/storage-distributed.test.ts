/**
 * A cluster with no shared disk: two gateways, an encoders node, a media node and an edge, each
 * with a DATA_DIR of its own, over one real NATS server whose object store holds every media
 * object. An upload started through one gateway is resumed through the other, encoded on the
 * encoders node, and played (VOD and live HLS from an RTMP encoder) through both gateways and
 * the edge; deleting the streams deletes their objects; the edge serves what it holds while the
 * store is away.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsBlobs } from "../blobs/blobs-nats.js";
import { publishRtmp, type Publisher } from "../tools/harness/encoders.js";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { freePort, waitFor } from "../tools/harness/ports.js";
import { makeClip } from "../tools/harness/vod.js";

const ENV = { ESH_BROKER_HEARTBEAT_INTERVAL_SEC: "1", ESH_BROKER_HEARTBEAT_TIMEOUT_SEC: "3", ESH_GATEWAY_AUTH_BURST_PER_IP: "100", ADMIN_USER: "boss", ADMIN_PASSWORD: "boss password 1" };
let nats: NatsServer;
let blobs: NatsBlobs;
let front: PlatformNode;
let second: PlatformNode;
let edge: PlatformNode;
let media: PlatformNode;
let enc: PlatformNode;
let rtmpPort = 0;
let token = "";
let publisher: Publisher | undefined;
const nodes: PlatformNode[] = [];

async function start(services: string, id: string, env: Record<string, string> = {}): Promise<PlatformNode> {
  const n = await PlatformNode.start({ services, natsUrl: nats.url, env: { ...ENV, NODE_ID: id, ...env } });
  nodes.push(n);
  return n;
}

/** Every file below a node's DATA_DIR (no media may be there but scratch files being worked on). */
function mediaFilesOf(n: PlatformNode): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|m3u8|mkv|mp4|bin)$/.test(e.name)) out.push(path.relative(n.dataDir, p));
    }
  };
  walk(n.dataDir);
  return out;
}

before(async () => {
  nats = await NatsServer.start();
  blobs = await NatsBlobs.open({ servers: nats.url, bucket: "esh_media", replicas: 1 });
  rtmpPort = await freePort();
  front = await start("gateway,sessions,streams,rooms", "gw-1");
  second = await start("gateway", "gw-2");
  enc = await start("encoders", "enc-1", { ESH_VOD_ENCODER_CONCURRENCY: "1" });
  media = await start("media", "media-1", { ESH_MEDIA_RTMP_PORT: String(rtmpPort), ESH_MEDIA_SRT_PORT: "0", ESH_MEDIA_LIVE_HLS: "true", ESH_MEDIA_RECORD_LIVE: "false" });
  edge = await start("gateway", "edge-1", { ESH_GATEWAY_EDGE_ORIGIN: front.url });
  await waitFor("the cluster assembled", () => ["gw-2", "enc-1", "media-1", "edge-1"].every((id) => front.output.includes(`Node '${id}' connected`)), 30_000, 100);
  await api(front.url, "POST", "/api/auth/register", { username: "maker", password: "maker password 1" });
  const boss = (await api(front.url, "POST", "/api/auth/login", { username: "boss", password: "boss password 1" })).body.accessToken as string;
  const me = (await api(front.url, "POST", "/api/auth/login", { username: "maker", password: "maker password 1" })).body.accessToken as string;
  const userId = ((await api(front.url, "GET", "/api/auth/me", undefined, me)).body.principal as { userId: string }).userId;
  assert.equal((await api(front.url, "POST", `/api/admin/users/${userId}/role`, { role: "creator" }, boss)).status, 200);
  token = (await api(front.url, "POST", "/api/auth/login", { username: "maker", password: "maker password 1" })).body.accessToken as string;
});

after(async () => {
  publisher?.stop();
  for (const n of nodes) await n.stop().catch(() => undefined);
  await blobs.close();
  await nats.dispose();
});

/** The same bytes from each base URL (status 200). */
async function sameEverywhere(bases: string[], p: string): Promise<Buffer> {
  const bodies = await Promise.all(bases.map(async (b) => {
    const r = await fetch(`${b}${p}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, `${b}${p}`);
    return Buffer.from(await r.arrayBuffer());
  }));
  for (const body of bodies) assert.deepEqual(body, bodies[0], p);
  return bodies[0] ?? Buffer.alloc(0);
}

describe("media storage without a shared disk", () => {
  let vodId = "";

  it("an upload begun on one gateway is resumed on the other, encoded on the encoders node, and plays through both gateways and an edge", async () => {
    const clip = makeClip(6, "640x360");
    const headers = { "tus-resumable": "1.0.0", authorization: `Bearer ${token}` };
    const created = await fetch(`${front.url}/api/uploads`, { method: "POST", headers: { ...headers, "upload-length": String(clip.length), "upload-metadata": `title ${Buffer.from("Two gateways").toString("base64")}` } });
    assert.equal(created.status, 201);
    const { uploadId, streamId } = (await created.json()) as { uploadId: string; streamId: string };
    vodId = streamId;
    const half = Math.floor(clip.length / 2);
    const first = await fetch(`${front.url}/api/uploads/${uploadId}`, { method: "PATCH", headers: { ...headers, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, body: clip.subarray(0, half) });
    assert.equal(first.status, 204);
    // The other gateway knows where the upload stands and takes the rest.
    const head = await fetch(`${second.url}/api/uploads/${uploadId}`, { method: "HEAD", headers });
    assert.equal(head.headers.get("upload-offset"), String(half));
    const rest = await fetch(`${second.url}/api/uploads/${uploadId}`, { method: "PATCH", headers: { ...headers, "content-type": "application/offset+octet-stream", "upload-offset": String(half) }, body: clip.subarray(half) });
    assert.equal(rest.status, 204, await rest.text());
    await waitFor("the asset ready", async () => {
      const s = (await api(front.url, "GET", `/api/streams/${streamId}`)).body as { status: string };
      if (s.status === "failed") throw new Error("encoding failed");
      return s.status === "ready" || undefined;
    }, 120_000, 250);
    // The encoder logs its job done a moment after the asset is marked ready.
    await waitFor("the encoder's log of the job", () => /objects in the blob store/.test(enc.output) || undefined, 10_000, 50);
    const bases = [front.url, second.url, edge.url];
    const master = (await sameEverywhere(bases, `/vod/${streamId}/master.m3u8`)).toString();
    const variant = /^(\w+)\/index\.m3u8$/m.exec(master)?.[1] ?? "";
    const playlist = (await sameEverywhere(bases, `/vod/${streamId}/${variant}/index.m3u8`)).toString();
    const seg = /^(seg_\d+\.ts)$/m.exec(playlist)?.[1] ?? "";
    const segment = await sameEverywhere(bases, `/vod/${streamId}/${variant}/${seg}`);
    assert.ok(segment.length > 1000);
    const ranged = await fetch(`${second.url}/vod/${streamId}/${variant}/${seg}`, { headers: { range: "bytes=100-199" } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), segment.subarray(100, 200));
    const etag = ranged.headers.get("etag") ?? "";
    assert.equal((await fetch(`${front.url}/vod/${streamId}/${variant}/${seg}`, { headers: { "if-none-match": etag } })).status, 304, "one ETag on every gateway: it is the object's");
    // Nothing of it on any node's disk: the parts and the ladder are in the object store.
    assert.ok((await blobs.list(`uploads/${streamId}/`)).length === 2, "two parts, one per PATCH");
    assert.ok((await blobs.list(`vod/${streamId}/`)).length > 4);
    for (const n of nodes) assert.deepEqual(mediaFilesOf(n), [], `${n.dataDir} holds no media`);
  });

  it("a live show from an RTMP encoder on the media node is live HLS through both gateways and the edge", async () => {
    const id = ((await api(front.url, "POST", "/api/streams", { title: "Live, no shared disk", kind: "live" }, token)).body as { id: string }).id;
    const key = ((await api(front.url, "GET", `/api/streams/${id}/key`, undefined, token)).body as { key: string }).key;
    publisher = publishRtmp(`rtmp://127.0.0.1:${String(rtmpPort)}/live/${key}`, { seconds: 120 });
    const bases = [front.url, second.url, edge.url];
    const master = await waitFor("the live master playlist on a gateway", async () => {
      const r = await fetch(`${second.url}/live/${id}/master.m3u8`);
      return r.status === 200 ? r.text() : undefined;
    }, 60_000, 250);
    const variant = /^(\w+)\/index\.m3u8$/m.exec(master)?.[1] ?? "";
    const playlist = await waitFor("a live playlist naming segments", async () => {
      const r = await fetch(`${front.url}/live/${id}/${variant}/index.m3u8`);
      const text = r.status === 200 ? await r.text() : "";
      return /^\w+_seg_\d+\.ts$/m.test(text) ? text : undefined;
    }, 30_000, 250);
    const seg = /^(\w+_seg_\d+\.ts)$/m.exec(playlist)?.[1] ?? "";
    const segment = await sameEverywhere(bases, `/live/${id}/${variant}/${seg}`);
    assert.ok(segment.length > 1000 && segment.length % 16 === 0, "an AES-128 encrypted segment");
    const viaEdge = await fetch(`${edge.url}/live/${id}/${variant}/${seg}`);
    assert.equal(viaEdge.headers.get("x-cache"), "edge");
    assert.match(viaEdge.headers.get("cache-control") ?? "", /immutable/, "a live segment's key is never reused: cacheable for good");
    const said = new RegExp(`live HLS of ${id} .*into the blob store at live/${id}/`);
    await waitFor("the media node's log of its live HLS", () => said.test(media.output) || undefined, 10_000, 50);
    const lives = (await blobs.list(`live/${id}/`)).map((b) => b.key);
    assert.ok(lives.includes(`live/${id}/master.m3u8`), lives.join(","));
    assert.ok(mediaFilesOf(second).length === 0 && mediaFilesOf(front).length === 0, "the gateways keep no segments");
    // Deleting the streams deletes their objects.
    publisher.stop();
    for (const sid of [id, vodId]) {
      const del = await api(front.url, "DELETE", `/api/streams/${sid}`, undefined, token);
      assert.equal(del.status, 200);
    }
    await waitFor("no objects left of either stream", async () => {
      const left = (await blobs.list(`live/${id}/`)).length + (await blobs.list(`vod/${vodId}/`)).length + (await blobs.list(`uploads/${vodId}/`)).length;
      return left === 0 || undefined;
    }, 60_000, 250); // the live mirror deletes what its session wrote 30 s after the show stops
    assert.equal((await fetch(`${second.url}/vod/${vodId}/master.m3u8`)).status, 404);
  });

  it("with the store (here: all of NATS) away for 10 s, the edge keeps serving the segments it holds", async () => {
    const clip = makeClip(4, "640x360");
    const headers = { "tus-resumable": "1.0.0", authorization: `Bearer ${token}` };
    const created = await fetch(`${front.url}/api/uploads`, { method: "POST", headers: { ...headers, "upload-length": String(clip.length) } });
    const { uploadId, streamId } = (await created.json()) as { uploadId: string; streamId: string };
    assert.equal((await fetch(`${front.url}/api/uploads/${uploadId}`, { method: "PATCH", headers: { ...headers, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, body: clip })).status, 204);
    await waitFor("ready", async () => ((await api(front.url, "GET", `/api/streams/${streamId}`)).body as { status: string }).status === "ready" || undefined, 120_000, 250);
    const seg = `/vod/${streamId}/240p/seg_00000.ts`;
    const warm = await fetch(`${edge.url}${seg}`);
    assert.equal(warm.status, 200);
    const body = Buffer.from(await warm.arrayBuffer());
    await nats.stop();
    try {
      const until = Date.now() + 10_000;
      let served = 0;
      while (Date.now() < until) {
        const r = await fetch(`${edge.url}${seg}`);
        assert.equal(r.status, 200, "served from the edge's cache while the store is away");
        assert.equal(r.headers.get("x-cache"), "edge");
        assert.deepEqual(Buffer.from(await r.arrayBuffer()), body);
        served++;
        await new Promise((res) => setTimeout(res, 500));
      }
      assert.ok(served >= 15);
    } finally {
      await nats.restart();
    }
  });
});
