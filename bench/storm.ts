/**
 * `npm run bench -- storm [--clients 3000] [--json out.json]`
 * A gateway lost under its clients: an 8-node cluster (npm run cluster's, default settings),
 * `clients` authenticated guests on gw-1 in one room; gw-1 is killed with SIGKILL and every
 * client reconnects to gw-2 and rejoins the room with its last seq, as the app does.
 * Two runs, the same clients each time:
 *   1. ours: the app's reconnect rule (protocol/close-codes.ts: a lost connection waits 0.5 s
 *      jittered by ±20%, then doubles), a refused upgrade or join waits its Retry-After;
 *   2. baseline: everyone at once, no wait (what a naive client does).
 * Printed: time from the kill until each client is back in the room (p50, p99, max), joins/s
 * the surviving gateway took, refusals. Issue 21's target: p99 <= 2 s at 20,000 clients,
 * >= 2,000 joins/s per gateway.
 */
import { Cluster } from "../tools/harness/cluster.js";
import { api } from "../tools/harness/node.js";
import { WsClient } from "../tools/harness/ws-client.js";
import { reconnectAfter } from "../protocol/close-codes.js";
import { isRetryable } from "../protocol/errors.js";
import { barChart, table, writeBenchResults } from "./chart.js";
import { percentile } from "./webrtc-rtp.js";

const arg = (argv: string[], name: string, d: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  clients: number;
  back: number;
  p50: number;
  p99: number;
  max: number;
  joinsPerSec: number;
  refused: number;
  why: Record<string, number>;
}

interface Member {
  token: string;
  ws: WsClient;
  seq: number;
}

/** Fresh joins, 100 at a time; a retryable refusal is asked again (as the app does) and counted. */
async function joinAll(url: string, room: string, tokens: string[], refused: { n: number; why: Map<string, number> }): Promise<Member[]> {
  const out: Member[] = [];
  for (let i = 0; i < tokens.length; i += 100) {
    out.push(...(await Promise.all(tokens.slice(i, i + 100).map(async (token) => {
      const ws = await WsClient.connect(url, { token, json: true });
      for (let attempt = 0; attempt < 50; attempt++) {
        const r = await ws.request("room.join", { room }, 30_000);
        if (r.t === "ok") return { token, ws, seq: (r.d as { seq: number }).seq };
        const why = `${String((r.d as { code?: string }).code)}: ${String((r.d as { message?: string }).message)}`;
        refused.n++;
        refused.why.set(why, (refused.why.get(why) ?? 0) + 1);
        if (!isRetryable(String((r.d as { code?: string }).code))) throw new Error(`join refused: ${why}`);
        await sleep(200 + Math.random() * 300);
      }
      throw new Error("join refused 50 times");
    }))));
  }
  return out;
}

/** One client back: connect to `url` and rejoin with its seq, waiting as `patient` says between tries. */
async function comeBack(m: Member, url: string, room: string, patient: boolean, refused: { n: number; why: Map<string, number> }): Promise<number> {
  const count = (why: string) => {
    refused.n++;
    refused.why.set(why, (refused.why.get(why) ?? 0) + 1);
  };
  for (let attempt = 0; ; attempt++) {
    if (patient) await sleep(reconnectAfter(1006, attempt, Math.random()) ?? 500);
    let ws: WsClient;
    try {
      ws = await WsClient.connect(url, { token: m.token, json: true });
    } catch (err) {
      count(`upgrade ${String((err as { status?: number }).status ?? (err as Error).message.slice(0, 40))}`);
      const after = Number((err as { body?: string }).body?.match(/"retryAfterSec":(\d+)/)?.[1] ?? 0);
      if (after > 0) await sleep(after * 1000);
      continue;
    }
    try {
      const r = await ws.request("room.join", { room, since: m.seq }, 30_000);
      if (r.t === "ok") {
        m.ws = ws;
        return Date.now();
      }
      count(`join ${String((r.d as { code?: string }).code)}: ${String((r.d as { message?: string }).message).slice(0, 60)}`);
      ws.close();
      const after = (r.d as { data?: { retryAfterSec?: number } }).data?.retryAfterSec ?? 0;
      if (after > 0) await sleep(after * 1000);
    } catch (err) {
      count(`join: ${(err as Error).message.slice(0, 60)}`);
      ws.close();
    }
  }
}

async function storm(cluster: Cluster, room: string, members: Member[], patient: boolean): Promise<Run> {
  const gw2 = cluster.node("gw-2").node.wsUrl;
  const refused = { n: 0, why: new Map<string, number>() };
  const t0 = Date.now();
  await cluster.kill("gw-1");
  const backAt = await Promise.all(members.map(async (m) => {
    await m.ws.closed(30_000).catch(() => undefined);
    return comeBack(m, gw2, room, patient, refused);
  }));
  const ms = backAt.map((t) => t - t0).sort((a, b) => a - b);
  const first = ms[0] ?? 0;
  const last = ms[ms.length - 1] ?? 0;
  return { clients: members.length, back: last, p50: percentile(ms, 50), p99: percentile(ms, 99), max: last, joinsPerSec: members.length / Math.max(0.001, (last - Math.min(first, 500)) / 1000), refused: refused.n, why: Object.fromEntries(refused.why) };
}

export async function stormBench(argv: string[]): Promise<void> {
  const n = arg(argv, "clients", 3000);
  const say = (l: string) => console.log(`[storm] ${l}`);
  const env = { ESH_GATEWAY_AUTH_BURST_PER_IP: "1000000", ESH_GATEWAY_AUTH_RATE_PER_IP: "1000000", ESH_GATEWAY_WS_PER_IP: String(n * 3), ESH_GATEWAY_HTTP_BURST_PER_IP: "1000000", ESH_GATEWAY_HTTP_RATE_PER_IP: "1000000" };
  const cluster = await Cluster.start({ nodes: 8, clickhouse: false, env }, say);
  try {
    const gw1 = () => cluster.node("gw-1").node;
    const http = cluster.node("gw-2").node.url;
    await api(http, "POST", "/api/auth/register", { username: "stormhost", password: "storm host password", role: "creator" });
    const host = (await api(http, "POST", "/api/auth/login", { username: "stormhost", password: "storm host password" })).body.accessToken as string;
    const room = (await api(http, "POST", "/api/streams", { title: "Storm", kind: "live" }, host)).body.id as string;
    say(`${String(n)} guest tokens…`);
    const tokens: string[] = [];
    for (let i = 0; i < n; i += 100) tokens.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, async () => (await api(http, "POST", "/api/auth/guest")).body.accessToken as string))));
    const runs: [string, Run][] = [];
    // A first storm warms the cluster up (its JIT, the room loaded on its owner) and is not reported.
    for (const [name, patient] of [["warm-up", false], ["ours: the app's rule (0.5 s ±20%, doubling; Retry-After honoured)", true], ["baseline: everyone at once, no wait", false]] as const) {
      say(`${String(n)} clients joining the room on gw-1…`);
      const t = Date.now();
      const joinRefused = { n: 0, why: new Map<string, number>() };
      const members = await joinAll(gw1().wsUrl, room, tokens, joinRefused);
      say(`joined in ${((Date.now() - t) / 1000).toFixed(1)} s (${String(Math.round(n / ((Date.now() - t) / 1000)))} joins/s, one gateway, fresh joins; ${String(joinRefused.n)} refused and asked again: ${JSON.stringify(Object.fromEntries(joinRefused.why))}); killing gw-1`);
      const r = await storm(cluster, room, members, patient);
      say(`${name}: all ${String(n)} back in ${String(r.back)} ms; p99 ${String(r.p99)} ms; ${String(Math.round(r.joinsPerSec))} joins/s on gw-2; ${String(r.refused)} refusals ${JSON.stringify(r.why)}`);
      if (name !== "warm-up") runs.push([name, r]);
      for (const m of members) m.ws.close();
      await cluster.restart("gw-1");
      await sleep(2000);
    }
    console.log(`\n| ${String(n)} clients, gw-1 killed | back p50 ms | p99 ms | max ms | joins/s on gw-2 | refusals |`);
    console.log("|---|---|---|---|---|---|");
    for (const [name, r] of runs) console.log(`| ${name} | ${String(r.p50)} | ${String(r.p99)} | ${String(r.max)} | ${String(Math.round(r.joinsPerSec))} | ${String(r.refused)} |`);
    const ours = runs[0]?.[1];
    if (ours) console.log(`target p99 <= 2,000 ms: ${ours.p99 <= 2000 ? "MET" : "NOT MET"} (${String(ours.p99)} ms at ${String(n)} clients; the target is for 20,000) · joins/s >= 2,000: ${ours.joinsPerSec >= 2000 ? "MET" : "NOT MET"}`);
    const json = argv.indexOf("--json") >= 0 ? argv[argv.indexOf("--json") + 1] : undefined;
    writeBenchResults("storm", "A gateway killed under its clients: reconnect storm to the other gateway", `${String(n)} guests in one room on gw-1 of an 8-node cluster (default settings)`, [
      barChart("Back in the room, p99", "ms", runs.map(([label, r], i) => ({ label, value: r.p99, baseline: i === 1 }))),
      table(["", "back p50 ms", "p99 ms", "max ms", "joins/s on gw-2", "refusals"], runs.map(([name, r]) => [name, r.p50, r.p99, r.max, Math.round(r.joinsPerSec), r.refused])),
    ], { clients: n, runs: Object.fromEntries(runs) }, json);
  } finally {
    await cluster.dispose();
  }
}
