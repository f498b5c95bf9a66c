/**
 * `npm run bench -- rpc [--clients 50] [--window 4] [--seconds 3] [--rounds 3] [--json out.json]`
 *
 * Request/answer over the WebSocket, side by side in one run:
 *   ws-baseline      the `ws` library echoing ping (same msgpack codec, no auth/limits/actors)
 *   gateway ping     our uWS gateway answering ping (token-authenticated connections, schema
 *                    validation, per-connection rate limits; no actor)
 *   embedded get/list  `streams.get` / `streams.list` (20 streams) through the gateway to the
 *                      streams actor, in-process, sqlite store
 *   nats get/list      the same with the actors on another node, over a real nats-server,
 *                      JetStream KV store
 * Each client keeps `window` requests in flight. Every target is warmed up first, then measured
 * in `rounds` rounds in rotated order. Prints req/s, p50/p99/p999 latency, the ratio to the
 * baseline and the load generator's own CPU, with a bar chart; --json writes the figures.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { Packr } from "msgpackr";
import WebSocket from "ws";
import { barChart, table, writeBenchResults } from "./chart.js";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";

const packr = new Packr({ useRecords: false });
interface RpcOptions {
  clients: number;
  window: number;
  seconds: number;
  rounds: number;
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
  /** The load generator's CPU (user + system) while it drove this target, % of one core. */
  clientCpuPct: number;
}

interface Run {
  requests: number;
  elapsed: number;
  latencies: number[];
  cpuMs: number;
}

interface Target {
  name: string;
  url: string;
  type: string;
  payload: unknown;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Drives every socket until `o.seconds` have passed, then lets the requests in flight finish. */
async function runFor(o: RpcOptions, t: Target): Promise<Run> {
  const { name, url, type, payload } = t;
  const sockets = await Promise.all(Array.from({ length: o.clients }, () => open(url)));
  const latencies: number[] = [];
  let stop = false;
  let requests = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const timer = setTimeout(() => (stop = true), o.seconds * 1000);
  await Promise.all(sockets.map((ws, ci) => drive(ws, ci)));
  clearTimeout(timer);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const ws of sockets) ws.close();
  return { requests, elapsed, latencies, cpuMs: (cpu.user + cpu.system) / 1000 };

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

function summarise(name: string, runs: Run[]): Result {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const elapsed = runs.reduce((a, r) => a + r.elapsed, 0);
  const requests = runs.reduce((a, r) => a + r.requests, 0);
  const q = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0);
  const cpuMs = runs.reduce((a, r) => a + r.cpuMs, 0);
  return { name, requests, perSec: Math.round(requests / elapsed), p50: q(0.5), p99: q(0.99), p999: q(0.999), clientCpuPct: Math.round(cpuMs / 10 / elapsed) };
}

/** Every target warmed up (a discarded second), then `rounds` rounds, each in another order
 *  (rotated), so no target always runs first, cold, or last, on a warm machine. */
async function measure(o: RpcOptions, targets: Target[]): Promise<Result[]> {
  for (const t of targets) {
    process.stdout.write(`  warm-up ${t.name} …`);
    await runFor({ ...o, seconds: 1 }, t);
    process.stdout.write(" done\n");
  }
  const runs = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < o.rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
    for (const t of order) {
      process.stdout.write(`  round ${String(round + 1)}/${String(o.rounds)} ${t.name}: ${String(o.clients)} clients x ${String(o.window)} in flight for ${String(o.seconds)} s …`);
      const r = await runFor(o, t);
      runs.get(t.name)?.push(r);
      process.stdout.write(` ${String(Math.round(r.requests / r.elapsed))} req/s\n`);
    }
  }
  return targets.map((t) => summarise(t.name, runs.get(t.name) ?? []));
}

function report(o: RpcOptions, results: Result[]): void {
  const base = results[0]?.perSec ?? 1;
  const max = Math.max(...results.map((r) => r.perSec));
  console.log(`\nrequest/answer over WebSocket: ${String(o.clients)} clients, ${String(o.window)} in flight each, ${String(o.rounds)} rounds of ${String(o.seconds)} s per row in rotated order after a warm-up (client: one process, ws library)`);
  console.log("name".padEnd(18) + "req/s".padStart(9) + "  vs baseline" + "  p50 ms".padStart(9) + "  p99 ms".padStart(9) + " p999 ms".padStart(9) + " client CPU".padStart(11));
  for (const r of results) {
    const bar = "#".repeat(Math.max(1, Math.round((r.perSec / max) * 40)));
    console.log(r.name.padEnd(18) + String(r.perSec).padStart(9) + `  ${(r.perSec / base).toFixed(2)}x`.padEnd(12) + String(r.p50).padStart(9) + String(r.p99).padStart(9) + String(r.p999).padStart(9) + `${String(r.clientCpuPct)}%`.padStart(11) + "  " + bar);
  }
  console.log("client CPU: the load generator's own CPU while it drove the row (% of one core); near 100% means the client, not the server, set the pace");
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
    const results = await measure(o, [
      { name: "ws-baseline ping", url: `ws://127.0.0.1:${String(baseline.port)}/`, type: "ping", payload: { ts: 1 } },
      { name: "gateway ping", url: `${embedded.wsUrl}?token=${tEmb.token}`, type: "ping", payload: { ts: 1 } },
      { name: "embedded get", url: `${embedded.wsUrl}?token=${tEmb.token}`, type: "streams.get", payload: { id: tEmb.streamId } },
      { name: "embedded list", url: `${embedded.wsUrl}?token=${tEmb.token}`, type: "streams.list", payload: { limit: 5 } },
      { name: "nats get", url: `${gateway.wsUrl}?token=${tNats.token}`, type: "streams.get", payload: { id: tNats.streamId } },
      { name: "nats list", url: `${gateway.wsUrl}?token=${tNats.token}`, type: "streams.list", payload: { limit: 5 } },
    ]);
    report(o, results);
    writeBenchResults("rpc", "WebSocket request/answer: the ws baseline, our gateway, the actors embedded and over NATS", `${String(o.clients)} clients, ${String(o.window)} in flight each, ${String(o.rounds)} rounds of ${String(o.seconds)} s per row in rotated order after a warm-up`, [
      barChart("Requests answered per second", "req/s", results.map((r) => ({ label: r.name, value: r.perSec, baseline: r.name.startsWith("ws-baseline") }))),
      barChart("p99 latency", "ms", results.map((r) => ({ label: r.name, value: r.p99, baseline: r.name.startsWith("ws-baseline") }))),
      table(["row", "req/s", "vs baseline", "p50 ms", "p99 ms", "p999 ms", "client CPU %"], results.map((r) => [r.name, r.perSec, Number((r.perSec / (results[0]?.perSec ?? 1)).toFixed(2)), r.p50, r.p99, r.p999, r.clientCpuPct])),
    ], { clients: o.clients, window: o.window, seconds: o.seconds, rounds: o.rounds, results }, o.json);
  } finally {
    baseline.proc.kill();
    for (const n of [gateway, actors, embedded]) await n.stop("SIGKILL");
    await nats.dispose();
  }
}

function parseArgs(argv: string[]): Partial<RpcOptions> {
  const out: Partial<RpcOptions> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`missing value for ${String(k)}`);
    if (k === "--clients") out.clients = Number(v);
    else if (k === "--window") out.window = Number(v);
    else if (k === "--seconds") out.seconds = Number(v);
    else if (k === "--rounds") out.rounds = Number(v);
    else if (k === "--json") out.json = v;
    else throw new Error(`unknown option ${String(k)}`);
  }
  return out;
}

export async function rpcBench(argv: string[]): Promise<void> {
  await main({ clients: 50, window: 4, seconds: 3, rounds: 3, ...parseArgs(argv) });
}
