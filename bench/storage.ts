/**
 * `npm run bench -- storage [--connections 32] [--seconds 5] [--upload-mib 1024] [--chunk-mib 16] [--live-seconds 15] [--json out.json]`
 * Media storage, side by side in one run: the same node reading and writing its media objects
 * in a local directory (the baseline: embedded) or in a NATS JetStream object store (a real
 * nats-server on loopback: what a cluster runs).
 *   segments  segments/s and p50/p99 through a gateway with its read cache off (every request
 *             reads the store, no coalescing), then with the default cache (64 MiB: the asset
 *             fits, so both serve from memory), on one encoded asset each
 *   upload    a tus upload of `upload-mib` MiB of random bytes in `chunk-mib` chunks, every 8th
 *             chunk cut off halfway and resumed (HEAD, then the chunk again): MB/s of acknowledged
 *             bytes, then the time from the last chunk to the encoder's verdict (every part
 *             joined, probed: random bytes are refused)
 *   live      live HLS latency (capture -> display in hls.js) with the live mirror writing to
 *             each store (2 s segments and the player's buffer dominate it: a store that adds
 *             a second shows; tens of ms do not)
 * Each pair is printed with its ratio to the directory.
 */
import { randomBytes } from "node:crypto";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { makeClip, uploadAndWait } from "../tools/harness/vod.js";
import { load, type Served } from "./hls.js";
import { liveHlsLatency } from "./webrtc-glass.js";
import { barChart, writeBenchResults } from "./chart.js";

interface Options {
  connections: number;
  seconds: number;
  uploadMib: number;
  chunkMib: number;
  liveSeconds: number;
  json: string | undefined;
}

function parse(argv: string[]): Options {
  const o: Options = { connections: 32, seconds: 5, uploadMib: 1024, chunkMib: 16, liveSeconds: 15, json: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1] ?? ""];
    if (k === "--connections") o.connections = Number(v);
    else if (k === "--seconds") o.seconds = Number(v);
    else if (k === "--upload-mib") o.uploadMib = Number(v);
    else if (k === "--chunk-mib") o.chunkMib = Number(v);
    else if (k === "--live-seconds") o.liveSeconds = Number(v);
    else if (k === "--json") o.json = v;
    else throw new Error(`unknown option ${String(k)}`);
  }
  return o;
}

const OPEN = { ESH_GATEWAY_HTTP_RATE_PER_IP: "1000000", ESH_GATEWAY_HTTP_BURST_PER_IP: "1000000", ESH_GATEWAY_HTTP_RATE_PER_USER: "1000000", ESH_GATEWAY_HTTP_BURST_PER_USER: "1000000", ESH_GATEWAY_AUTH_BURST_PER_IP: "100", ESH_GATEWAY_MAX_BODY_BYTES: String(64 * 1024 ** 2), ESH_VOD_UPLOAD_CHUNK_MAX_BYTES: String(64 * 1024 ** 2), ESH_VOD_MAX_PENDING_BYTES_PER_CREATOR: String(2 ** 40), ESH_VOD_MAX_UPLOAD_BYTES: String(2 ** 40), LOG_LEVEL: "warn" };

async function creator(node: PlatformNode): Promise<string> {
  await api(node.url, "POST", "/api/auth/register", { username: "bench", password: "bench password 1", role: "creator" });
  return (await api(node.url, "POST", "/api/auth/login", { username: "bench", password: "bench password 1" })).body.accessToken as string;
}

interface UploadResult {
  store: string;
  mbPerSec: number;
  resumes: number;
  finishMs: number;
}

/** A tus upload in chunks; every 8th chunk is cut off halfway (the client's connection drops) and resumed. */
async function upload(store: string, node: PlatformNode, token: string, o: Options, log: (s: string) => void): Promise<UploadResult> {
  const total = o.uploadMib * 1024 ** 2;
  const chunk = o.chunkMib * 1024 ** 2;
  const bytes = randomBytes(chunk);
  const h = { "tus-resumable": "1.0.0", authorization: `Bearer ${token}` };
  const created = await fetch(`${node.url}/api/uploads`, { method: "POST", headers: { ...h, "upload-length": String(total), "upload-metadata": `title ${Buffer.from("storage bench").toString("base64")}` } });
  if (created.status !== 201) throw new Error(`upload refused: ${created.status} ${await created.text()}`);
  const { uploadId, streamId } = (await created.json()) as { uploadId: string; streamId: string };
  const patch = (from: number, body: Buffer, signal?: AbortSignal) => fetch(`${node.url}/api/uploads/${uploadId}`, { method: "PATCH", headers: { ...h, "content-type": "application/offset+octet-stream", "upload-offset": String(from) }, body, ...(signal ? { signal } : {}) });
  let offset = 0;
  let resumes = 0;
  let n = 0;
  const t0 = performance.now();
  while (offset + chunk < total) { // all but the last chunk: the last one also joins and probes
    if (++n % 8 === 0) {
      // Cut off: the body stops halfway; the server never acknowledges it.
      const ac = new AbortController();
      const half = new ReadableStream<Uint8Array>({ start(c) { c.enqueue(bytes.subarray(0, chunk / 2)); setTimeout(() => ac.abort(), 50); } });
      await fetch(`${node.url}/api/uploads/${uploadId}`, { method: "PATCH", headers: { ...h, "content-type": "application/offset+octet-stream", "upload-offset": String(offset) }, body: half, signal: ac.signal, duplex: "half" }).catch(() => undefined);
      const head = await fetch(`${node.url}/api/uploads/${uploadId}`, { method: "HEAD", headers: h });
      offset = Number(head.headers.get("upload-offset"));
      resumes++;
    }
    const r = await patch(offset, bytes.subarray(0, Math.min(chunk, total - offset)));
    if (r.status !== 204) throw new Error(`chunk at ${String(offset)}: ${String(r.status)} ${await r.text()}`);
    offset = Number(r.headers.get("upload-offset"));
    if (n % 16 === 0) log(`[storage] ${store}: ${String(Math.round(offset / 1024 ** 2))} of ${String(o.uploadMib)} MiB`);
  }
  const sent = performance.now() - t0;
  const f0 = performance.now();
  const last = await patch(offset, bytes.subarray(0, total - offset));
  // Random bytes are no media: refused once joined and probed, by the last PATCH (small files)
  // or by the encoding job (big ones). Either way the time is the join of every part.
  if (last.status !== 400 && last.status !== 204) throw new Error(`the last chunk: ${String(last.status)} ${await last.text()}`);
  for (;;) {
    const st = ((await api(node.url, "GET", `/api/streams/${streamId}`)).body as { status: string }).status;
    if (st === "failed") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const finishMs = Math.round(performance.now() - f0);
  return { store, mbPerSec: Number(((offset / 1e6) / (sent / 1000)).toFixed(1)), resumes, finishMs };
}

export async function storageBench(argv: string[]): Promise<void> {
  const o = parse(argv);
  const say = (s: string) => console.log(s);
  const nats = await NatsServer.start();
  const viaNats = (cache: string) => ({ ...OPEN, BLOBS: "nats", ESH_BLOBS_NATS_URL: nats.url, ESH_BLOBS_READ_CACHE_BYTES: cache });
  const viaDir = (cache: string) => ({ ...OPEN, BLOBS: "dir", ESH_BLOBS_READ_CACHE_BYTES: cache });
  const nodes: PlatformNode[] = [];
  try {
    say("[storage] starting four nodes (directory / NATS object store; read cache off / 64 MiB) and encoding a 20 s 720p asset on each");
    say("[storage] the NATS store is one nats-server on loopback, one replica: a cluster adds replication (R3) and network hops to its figures");
    const plan = [["directory, no cache", viaDir("0")], ["NATS store, no cache", viaNats("0")], ["directory, cached", viaDir(String(64 * 1024 ** 2))], ["NATS store, cached", viaNats(String(64 * 1024 ** 2))]] as const;
    const served: Served[] = [];
    const clip = makeClip(20);
    const targets: { name: string; node: PlatformNode; token: string; id: string }[] = [];
    for (const [name, env] of plan) {
      const node = await PlatformNode.start({ env: { ...env, ESH_MEDIA_WORKERS: "1" } });
      nodes.push(node);
      const token = await creator(node);
      targets.push({ name, node, token, id: await uploadAndWait(node.url, token, clip, `storage bench (${name})`) });
    }
    for (const t of targets) {
      const paths = ["240p", "480p", "720p"].flatMap((r) => Array.from({ length: 10 }, (_, i) => `/vod/${t.id}/${r}/seg_${String(i).padStart(5, "0")}.ts`));
      process.stdout.write(`[storage] segments, ${t.name}: ${String(o.connections)} connections for ${String(o.seconds)} s… `);
      const r = await load(t.name, t.node.url, paths, o);
      served.push(r);
      say(`${String(r.segmentsPerSec)} segments/s, ${String(r.mbPerSec)} MB/s, p50 ${String(r.p50)} ms, p99 ${String(r.p99)} ms${r.errors ? `, ${String(r.errors)} errors` : ""}`);
    }
    for (const [a, b] of [[0, 1], [2, 3]] as const) {
      const [d, n] = [served[a], served[b]];
      if (d && n) say(`[storage] ${n.target}: ${(n.segmentsPerSec / d.segmentsPerSec).toFixed(2)}x the segments/s of ${d.target}, p99 ${(n.p99 / d.p99).toFixed(2)}x${a === 2 ? " (both from the gateway's memory: the cache hides the store)" : ""}`);
    }
    const uploads: UploadResult[] = [];
    for (const t of targets.slice(0, 2)) {
      say(`[storage] upload, ${t.name}: ${String(o.uploadMib)} MiB in ${String(o.chunkMib)} MiB chunks, every 8th cut off and resumed`);
      const u = await upload(t.name.split(",")[0] ?? t.name, t.node, t.token, o, say);
      uploads.push(u);
      say(`[storage] upload, ${u.store}: ${String(u.mbPerSec)} MB/s acknowledged, ${String(u.resumes)} resumes, last chunk to the encoder's verdict (every part joined, probed) ${String(u.finishMs)} ms`);
    }
    const [ud, un] = uploads;
    if (ud && un) say(`[storage] upload: NATS store at ${(un.mbPerSec / ud.mbPerSec).toFixed(2)}x the directory's MB/s`);
    for (const n of nodes.splice(0)) await n.stop();
    const live: Record<string, unknown> = {};
    for (const [name, env] of [["directory", viaDir(String(64 * 1024 ** 2))], ["NATS store", viaNats(String(64 * 1024 ** 2))]] as const) {
      say(`[storage] live HLS latency, ${name}: ${String(o.liveSeconds)} s of frames…`);
      const r = await liveHlsLatency(o.liveSeconds, say, env);
      live[name] = r;
      if (r) say(`[storage] live HLS latency, ${name}: p50 ${(r.p50 / 1000).toFixed(2)} s, p99 ${(r.p99 / 1000).toFixed(2)} s over ${String(r.samples)} frames`);
    }
    const isDir = (label: string) => label.startsWith("directory");
    const lat = (name: string) => (live[name] as { p50: number } | undefined)?.p50 ?? 0;
    writeBenchResults("storage", "Media storage: a directory (blue, the baseline) vs the NATS object store (green)", `${String(o.connections)} connections × ${String(o.seconds)} s per target; upload ${String(o.uploadMib)} MiB in ${String(o.chunkMib)} MiB chunks; NATS: one nats-server on loopback, one replica`, [
      barChart("Segments/s through a gateway", "/s", served.map((r) => ({ label: r.target, value: r.segmentsPerSec, baseline: isDir(r.target) }))),
      barChart("p99 segment latency", "ms", served.map((r) => ({ label: r.target, value: r.p99, baseline: isDir(r.target) }))),
      barChart("Upload throughput (acknowledged, with resumes)", "MB/s", uploads.map((u) => ({ label: u.store, value: u.mbPerSec, baseline: isDir(u.store) }))),
      barChart("Live HLS latency p50 (capture to display)", "ms", ["directory", "NATS store"].map((n) => ({ label: n, value: Math.round(lat(n)), baseline: isDir(n) }))),
    ], { options: o, served, uploads, live }, o.json);
  } finally {
    for (const n of nodes) await n.stop().catch(() => undefined);
    await nats.dispose();
  }
}
