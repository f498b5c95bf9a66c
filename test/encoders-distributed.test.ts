/**
 * The encoding queue across nodes over a real NATS server (JetStream store, media objects in
 * its object store, a DATA_DIR of its own for each node): a job whose node is killed with SIGKILL mid-encode is
 * taken over by the other encoders node when its lease runs out, and the asset becomes ready;
 * then an edge gateway joins and playback URLs send viewers to it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { freePort, waitFor } from "../tools/harness/ports.js";
import { makeClip } from "../tools/harness/vod.js";

const FAST = { ESH_BROKER_HEARTBEAT_INTERVAL_SEC: "1", ESH_BROKER_HEARTBEAT_TIMEOUT_SEC: "3", ESH_VOD_JOB_LEASE_MS: "3000", ESH_VOD_ENCODER_CONCURRENCY: "1", ESH_GATEWAY_AUTH_BURST_PER_IP: "100" };
let nats: NatsServer;
const nodes: PlatformNode[] = [];

async function start(services: string, id: string): Promise<PlatformNode> {
  const n = await PlatformNode.start({ services, natsUrl: nats.url, env: { ...FAST, NODE_ID: id } }); // a DATA_DIR each: media objects are in NATS
  nodes.push(n);
  return n;
}

before(async () => {
  nats = await NatsServer.start();
  await start("gateway,sessions,streams,rooms", "front");
  await start("encoders", "enc-1");
  await start("encoders", "enc-2");
});

after(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
  await nats.stop();
});

describe("encoders across nodes", () => {
  it("uploads started at once through two encoders nodes cannot pass a creator's quota together", async () => {
    const front = nodes[0] as PlatformNode;
    await waitFor("front sees both encoders", () => /Node 'enc-1' connected/.test(front.output) && /Node 'enc-2' connected/.test(front.output), 20_000);
    await api(front.url, "POST", "/api/auth/register", { username: "rusher", password: "rusher password 1", role: "creator" });
    const token = (await api(front.url, "POST", "/api/auth/login", { username: "rusher", password: "rusher password 1" })).body.accessToken as string;
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${front.url}/api/uploads`, { method: "POST", headers: { "tus-resumable": "1.0.0", authorization: `Bearer ${token}`, "upload-length": "1000" } }).then((r) => r.status)));
    assert.equal(answers.filter((st) => st === 201).length, 3, `statuses ${answers.join(",")} (quota: 3 uploads in progress)`);
    assert.ok(answers.every((st) => st === 201 || st === 429));
  });

  it("a job on a node killed mid-encode is retried on the other node and finishes", async () => {
    const front = nodes[0] as PlatformNode;
    await waitFor("front sees both encoders", () => /Node 'enc-1' connected/.test(front.output) && /Node 'enc-2' connected/.test(front.output), 20_000);
    await api(front.url, "POST", "/api/auth/register", { username: "editor", password: "editor password 1", role: "creator" });
    const token = (await api(front.url, "POST", "/api/auth/login", { username: "editor", password: "editor password 1" })).body.accessToken as string;
    const clip = makeClip(30);
    const headers = { "tus-resumable": "1.0.0", authorization: `Bearer ${token}` };
    const created = await fetch(`${front.url}/api/uploads`, { method: "POST", headers: { ...headers, "upload-length": String(clip.length), "upload-metadata": `title ${Buffer.from("Survivor").toString("base64")}` } });
    const { uploadId, streamId } = (await created.json()) as { uploadId: string; streamId: string };
    const done = await fetch(`${front.url}/api/uploads/${uploadId}`, { method: "PATCH", headers: { ...headers, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, body: clip });
    assert.equal(done.status, 204, await done.text());
    const running = await waitFor("the job running", async () => {
      const j = (await api(front.url, "GET", `/api/encodes/${streamId}`, undefined, token)).body as { status: string; node?: string; progress: number };
      return j.status === "running" && j.node ? j : undefined;
    }, 20_000, 100);
    const victim = nodes.find((n) => n.output.includes(`Echostreamhub node ${running.node ?? ""} started`));
    assert.ok(victim, `node ${String(running.node)}`);
    victim.proc.kill("SIGKILL");
    const finished = await waitFor("the asset ready after the takeover", async () => {
      const s = (await api(front.url, "GET", `/api/streams/${streamId}`)).body as { status: string };
      if (s.status === "failed") throw new Error("failed");
      return s.status === "ready" ? s : undefined;
    }, 120_000, 250);
    assert.equal(finished.status, "ready");
    // The asset is marked ready, then its job done: a moment apart.
    const job = await waitFor("the job done", async () => {
      const j = (await api(front.url, "GET", `/api/encodes/${streamId}`, undefined, token)).body as { status: string; node: string; attempts: number };
      return j.status === "done" ? j : undefined;
    }, 5000, 50);
    assert.notEqual(job.node, running.node);
    assert.equal(job.attempts, 2);
    const master = await fetch(`${front.url}/vod/${streamId}/master.m3u8`);
    assert.equal(master.status, 200);

    // An edge joins (its own disk, the origin's URL): playback URLs now point viewers at it.
    const port = await freePort();
    const edgeUrl = `http://127.0.0.1:${port}`;
    const edge = await PlatformNode.start({ services: "gateway", natsUrl: nats.url, env: { ...FAST, NODE_ID: "edge-1", PORT: String(port), PUBLIC_URL: edgeUrl, ESH_GATEWAY_EDGE_ORIGIN: front.url } });
    nodes.push(edge);
    const playback = await waitFor("playback pointing at the edge", async () => {
      const p = (await api(front.url, "GET", `/api/playback/${streamId}`, undefined, token)).body as { master: string; edge: string | null };
      return p.edge === edgeUrl ? p : undefined;
    }, 15_000, 250);
    const viaEdge = await fetch(playback.master);
    assert.equal(viaEdge.status, 200);
    const keyUri = /URI="([^"]+)"/.exec(await (await fetch(`${edgeUrl}/vod/${streamId}/240p/index.m3u8?${new URL(playback.master).searchParams.toString()}`)).text())?.[1] ?? "";
    const key = await fetch(`${edgeUrl}${keyUri}`);
    assert.equal(key.status, 200, "the edge answers keys for signed URLs through the cluster");
    const seg = await fetch(`${edgeUrl}/vod/${streamId}/240p/seg_00000.ts`);
    assert.equal(seg.headers.get("x-cache"), "edge");
  });
});
