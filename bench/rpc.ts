/**
 * `npm run bench -- rpc [--clients 50] [--window 4] [--seconds 5] [--json out.json]`
 *
 * Request/answer over the WebSocket, side by side in one run:
 *   ws-baseline      the `ws` library echoing ping (same msgpack codec, no auth/limits/actors)
 *   gateway ping     our uWS gateway answering ping (token-authenticated connections, schema
 *                    validation, per-connection rate limits; no actor)
 *   embedded get/list  `streams.get` / `streams.list` (20 streams) through the gateway to the
 *                      streams actor, in-process, sqlite store
 *   nats get/list      the same with the actors on another node, over a real nats-server,
 *                      JetStream KV store
 * Each client keeps `window` requests in flight. Prints req/s, p50/p99/p999 latency and the
 * ratio to the baseline, with a bar chart; --json writes the figures.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Packr } from "msgpackr";
import WebSocket from "ws";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";

const packr = new Packr({ useRecords: false });
interface RpcOptions {
  clients: number;
  window: number;
  seconds: number;
  json?: string;
}
// The bench measures the edge, so per-connection limits are raised above what it sends.
const OPEN_LIMITS = { ESH_GATEWAY_WS_RATE_PER_SEC: "1000000", ESH_GATEWAY_WS_BURST: "1000000", ESH_GATEWAY_AUTH_BURST_PER_IP: "10000", ESH_GATEWAY_WS_PER_IP: "10000000", ESH_GATEWAY_WS_PER_USER: "10000000", LOG_LEVEL: "warn" };

interface Result {
  name: string;
  requests: number;
  perSec: number;
  p50: number;
  p99: number;
  p999: number;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function timed(o: RpcOptions, name: string, url: string, type: string, payload: unknown): Promise<Result> {
  process.stdout.write(`  ${name}: ${o.clients} clients x ${o.window} in flight for ${o.seconds} s ...`);
  const r = await runFor(o, name, url, type, payload);
  process.stdout.write(` ${r.perSec} req/s\n`);
  return r;
}

/** Drives every socket until `o.seconds` have passed, then lets the requests in flight finish. */
async function runFor(o: RpcOptions, name: string, url: string, type: string, payload: unknown): Promise<Result> {
  const sockets = await Promise.all(Array.from({ length: o.clients }, () => open(url)));
  const latencies: number[] = [];
  let stop = false;
  let requests = 0;
  const started = performance.now();
  const timer = setTimeout(() => (stop = true), o.seconds * 1000);
  await Promise.all(sockets.map((ws, ci) => drive(ws, ci)));
  clearTimeout(timer);
  const elapsed = (performance.now() - started) / 1000;
  for (const ws of sockets) ws.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0);
  return { name, requests, perSec: Math.round(requests / elapsed), p50: q(0.5), p99: q(0.99), p999: q(0.999) };

  function drive(ws: WebSocket, ci: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const sentAt = new Map<string, number>();
      let n = 0;
      const send = () => {
        const id = `${ci}-${n++}`;
        sentAt.set(id, performance.now());
        ws.send(packr.pack({ t: type, id, d: payload }));
      };
      ws.on("message", (data: Buffer) => {
        const f = packr.unpack(data) as { t: string; id?: string; d?: unknown };
        if (f.id === undefined) return;
        const t0 = sentAt.get(f.id);
        if (t0 === undefined) return;
        sentAt.delete(f.id);
        if (f.t !== "ok") return reject(new Error(`${name}: ${JSON.stringify(f).slice(0, 200)}`));
        latencies.push(performance.now() - t0);
        requests++;
        if (!stop) send();
        else if (sentAt.size === 0) resolve();
      });
      for (let i = 0; i < o.window; i++) send();
    });
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

function startBaseline(): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ["--import", "tsx", "bench/baselines/ws-echo-server.ts"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => {
    proc.stdout.on("data", (c: Buffer) => {
      const m = /listening (\d+)/.exec(c.toString());
      if (m?.[1]) resolve({ proc, port: Number(m[1]) });
    });
  });
}

/** A creator's token and the id of one of the 20 streams it creates. */
async function tokenFor(base: string, username: string): Promise<{ token: string; streamId: string }> {
  const r = await api(base, "POST", "/api/auth/register", { username, password: "bench password 1", role: "creator" });
  const token = r.body.accessToken as string;
  let streamId = "";
  for (let i = 0; i < 20; i++) streamId = (await api(base, "POST", "/api/streams", { title: `bench ${i}`, kind: "live" }, token)).body.id as string;
  return { token, streamId };
}

function report(o: RpcOptions, results: Result[]): void {
  const base = results[0]?.perSec ?? 1;
  const max = Math.max(...results.map((r) => r.perSec));
  console.log(`\nrequest/answer over WebSocket: ${o.clients} clients, ${o.window} in flight each, ${o.seconds} s per row (client: one process, ws library)`);
  console.log("name".padEnd(18) + "req/s".padStart(9) + "  vs baseline" + "  p50 ms".padStart(9) + "  p99 ms".padStart(9) + " p999 ms".padStart(9));
  for (const r of results) {
    const bar = "#".repeat(Math.max(1, Math.round((r.perSec / max) * 40)));
    console.log(r.name.padEnd(18) + String(r.perSec).padStart(9) + `  ${(r.perSec / base).toFixed(2)}x`.padEnd(12) + String(r.p50).padStart(9) + String(r.p99).padStart(9) + String(r.p999).padStart(9) + "  " + bar);
  }
}

async function main(o: RpcOptions): Promise<void> {
  console.log("bench rpc: starting servers (baseline ws server, embedded node, nats-server + actors node + gateway node)");
  const baseline = await startBaseline();
  const embedded = await PlatformNode.start({ services: "gateway,sessions,streams,rooms", env: OPEN_LIMITS });
  const nats = await NatsServer.start();
  const actors = await PlatformNode.start({ services: "sessions,streams,rooms", natsUrl: nats.url, env: OPEN_LIMITS });
  const gateway = await PlatformNode.start({ services: "gateway", natsUrl: nats.url, env: OPEN_LIMITS });
  try {
    const tEmb = await tokenFor(embedded.url, "bench");
    const tNats = await tokenFor(gateway.url, "bench");
    const results = [
      await timed(o, "ws-baseline ping", `ws://127.0.0.1:${baseline.port}/`, "ping", { ts: 1 }),
      await timed(o, "gateway ping", `${embedded.wsUrl}?token=${tEmb.token}`, "ping", { ts: 1 }),
      await timed(o, "embedded get", `${embedded.wsUrl}?token=${tEmb.token}`, "streams.get", { id: tEmb.streamId }),
      await timed(o, "embedded list", `${embedded.wsUrl}?token=${tEmb.token}`, "streams.list", { limit: 5 }),
      await timed(o, "nats get", `${gateway.wsUrl}?token=${tNats.token}`, "streams.get", { id: tNats.streamId }),
      await timed(o, "nats list", `${gateway.wsUrl}?token=${tNats.token}`, "streams.list", { limit: 5 }),
    ];
    report(o, results);
    if (o.json) writeFileSync(o.json, JSON.stringify({ clients: o.clients, window: o.window, seconds: o.seconds, results }, null, 2));
  } finally {
    baseline.proc.kill();
    for (const n of [gateway, actors, embedded]) await n.stop("SIGKILL");
    await nats.dispose();
  }
}

function parseArgs(argv: string[]): { clients?: number; window?: number; seconds?: number; json?: string } {
  const out: { clients?: number; window?: number; seconds?: number; json?: string } = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`missing value for ${String(k)}`);
    if (k === "--clients") out.clients = Number(v);
    else if (k === "--window") out.window = Number(v);
    else if (k === "--seconds") out.seconds = Number(v);
    else if (k === "--json") out.json = v;
    else throw new Error(`unknown option ${String(k)}`);
  }
  return out;
}

export async function rpcBench(argv: string[]): Promise<void> {
  await main({ clients: 50, window: 4, seconds: 5, ...parseArgs(argv) });
}
