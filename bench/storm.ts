/**
 * `npm run bench -- storm [--clients 20000] [--gateways 4] [--workers 2] [--rate-clients 6000]
 *   [--chat-rate 2] [--rules app,naive] [--profile DIR] [--json out.json]`
 * A gateway lost under its clients, on a cluster of `gateways` gateways + 2 actor nodes (sessions,
 * streams, rooms) over 3 NATS servers, default settings, all on this machine with the clients.
 *  1. Joins per second one gateway takes: `rate-clients` fresh clients (connect with a guest
 *     token + room.join) through gw-1 as fast as they are let in, and the same through a
 *     baseline gateway of the same cluster that sends each join as its own call
 *     (ESH_GATEWAY_JOIN_BATCH=1: how every gateway joined before batching).
 *  2. The storm: `clients` guests in one room, spread evenly over the gateways, while chatters
 *     keep its seq moving (`chat-rate` chats/s, default 2, each to every client); gw-1 is killed (SIGKILL) and each of its clients comes back through
 *     a surviving gateway picked at random (a load balancer's pick), rejoining with its last seq.
 *     Rules: `app` = the app's (protocol/close-codes.ts reconnectAfter; a refusal's wait
 *     honoured), `naive` = everyone at once, again and again.
 * Printed: time from the kill until each lost client is back (p50/p99/max), the peak joins/s a
 * survivor took, refusals (load shed, with the wait asked), and how the rejoins resumed.
 * Issue 21's targets: p99 <= 2 s at 20,000 clients; >= 2,000 joins/s per gateway.
 */
import { Cluster, type PlannedNode } from "../tools/harness/cluster.js";
import { api } from "../tools/harness/node.js";
import { WsClient } from "../tools/harness/ws-client.js";
import { barChart, table, writeBenchResults } from "./chart.js";
import { machineJiffies, sumStats, Workers } from "./procs.js";
import type { StormCommand, StormMessage } from "./storm-worker.js";
import { percentile } from "./webrtc-rtp.js";

type Rule = "app" | "naive" | "overrun";
interface Options {
  clients: number;
  gateways: number;
  workers: number;
  rateClients: number;
  /** Chats/s in the room meanwhile (one chatter per chat/s: the default per-user rate is 1/s). */
  chatRate: number;
  /** Rounds of the fresh-join measurement (ours and the baseline each, alternating). */
  repeats: number;
  /** Also the overrun storm (all of a dead gateway's clients at once to one survivor). */
  overrun: boolean;
  rules: Rule[];
  json?: string | undefined;
  /** Write gw-2's (a survivor) and gw-base's CPU profiles (node --cpu-prof) here, at the end of the run. */
  profile?: string | undefined;
}
type Entered = Extract<StormMessage, { type: "entered" }>;
type Back = Extract<StormMessage, { type: "back" }>;

interface StormRun {
  rule: Rule;
  clients: number;
  lost: number;
  p50: number;
  p99: number;
  max: number;
  peakPerGateway: number;
  refused: Record<string, number>;
  outcomes: Record<string, number>;
  /** CPU seconds each part spent from the kill until all were back, and the machine's busy %. */
  cpuSec: Record<string, number>;
  machineBusyPct: number;
}

const say = (l: string) => console.log(`[storm] ${l}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BASELINE = "gw-base";
const RULE_NAMES: Record<Rule, string> = {
  app: "ours: the app's rule (full jitter below 0.5 s), to any survivor",
  naive: "everyone at once, to any survivor",
  overrun: "overrun: gw-1 and gw-3 killed, everyone at once to gw-2 (shed with retry-after)",
};

function options(argv: string[]): Options {
  const num = (name: string, d: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : d;
  };
  const i = argv.indexOf("--rules");
  const rules = (i >= 0 ? String(argv[i + 1]).split(",") : ["app", "naive"]).filter((r): r is "app" | "naive" => r === "app" || r === "naive");
  const j = argv.indexOf("--json");
  const p = argv.indexOf("--profile");
  const o = { clients: num("clients", 20_000), gateways: num("gateways", 4), workers: num("workers", 2), rateClients: num("rate-clients", 6000), chatRate: num("chat-rate", 2), repeats: num("repeats", 3), overrun: !argv.includes("--no-overrun"), rules, json: j >= 0 ? argv[j + 1] : undefined, profile: p >= 0 ? argv[p + 1] : undefined };
  if (o.gateways < 2) throw new Error("--gateways must be at least 2 (one is killed)");
  return o;
}

/** Splits `items` into `n` interleaved shares, one per worker. */
const shares = <T>(items: T[], n: number): T[][] => Array.from({ length: n }, (_, w) => items.filter((_, i) => i % n === w));

async function guestTokens(urls: string[], n: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < n; i += 200) {
    tokens.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, async (_, k) => (await api(urls[k % urls.length] ?? "", "POST", "/api/auth/guest")).body.accessToken as string))));
    if (i % 5000 === 0 && i > 0) say(`${String(i)} guest tokens`);
  }
  return tokens;
}

interface Rate {
  perSec: number;
  refused: Record<string, number>;
  /** CPU the gateway spent per join, µs (user + kernel, from /proc): joins/s per core = 1e6 / it. */
  gatewayUsPerJoin: number;
  /** CPU of the whole cluster (gateways, actor nodes, NATS servers) per join, µs. */
  clusterUsPerJoin: number;
  /** CPU of the client processes per join, µs, and how busy the machine's cores were (%). */
  clientUsPerJoin: number;
  machineBusyPct: number;
}

/** The median of each figure over the repeats, and the joins/s range. */
interface RateSummary extends Rate {
  runs: number;
  minPerSec: number;
  maxPerSec: number;
}

function summarize(rs: Rate[]): RateSummary {
  if (rs.length === 0) return { perSec: 0, gatewayUsPerJoin: 0, clusterUsPerJoin: 0, clientUsPerJoin: 0, machineBusyPct: 0, refused: {}, runs: 0, minPerSec: 0, maxPerSec: 0 };
  const med = (f: (r: Rate) => number) => percentile(rs.map(f).sort((a, b) => a - b), 50);
  const refused: Record<string, number> = {};
  for (const r of rs) for (const [k, n] of Object.entries(r.refused)) refused[k] = (refused[k] ?? 0) + n;
  const per = rs.map((r) => r.perSec);
  return { perSec: med((r) => r.perSec), gatewayUsPerJoin: med((r) => r.gatewayUsPerJoin), clusterUsPerJoin: med((r) => r.clusterUsPerJoin), clientUsPerJoin: med((r) => r.clientUsPerJoin), machineBusyPct: med((r) => r.machineBusyPct), refused, runs: rs.length, minPerSec: Math.min(...per), maxPerSec: Math.max(...per) };
}

/** Fresh joins through one gateway as fast as they are let in, with the CPU they cost. */
async function rate(cluster: Cluster, workers: Workers<StormCommand, StormMessage>, id: string, tokens: string[], room: string): Promise<Rate> {
  const gw = cluster.node(id).node.proc.pid ?? 0;
  const all = [...cluster.nodes.map((n) => n.node.proc.pid ?? 0), ...cluster.nats.pids];
  const clients = workers.procs.map((p) => p.pid ?? 0);
  const [g0, c0, w0, m0] = [sumStats([gw]).cpuSec, sumStats(all).cpuSec, sumStats(clients).cpuSec, machineJiffies()];
  const r = await enter(workers, tokens, () => 0, [cluster.node(id).node.wsUrl], room);
  const [g1, c1, w1, m1] = [sumStats([gw]).cpuSec, sumStats(all).cpuSec, sumStats(clients).cpuSec, machineJiffies()];
  const us = (a: number, b: number) => Math.round(((b - a) * 1e6) / tokens.length);
  return { ...r, gatewayUsPerJoin: us(g0, g1), clusterUsPerJoin: us(c0, c1), clientUsPerJoin: us(w0, w1), machineBusyPct: Math.round((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total)) };
}

/** Enters clients (connect + join) and answers the joins/s they were let in at. */
async function enter(workers: Workers<StormCommand, StormMessage>, tokens: string[], gatewayOf: (i: number) => number, urls: string[], room: string): Promise<{ perSec: number; refused: Record<string, number> }> {
  const specs = tokens.map((token, i) => ({ token, gateway: gatewayOf(i) }));
  // No source addresses: the kernel's connect-time port choice is per destination (28k ports
  // to each gateway) and cheap; binding source addresses first made every connect search the
  // bound ports, blocking the client processes for seconds at 20,000 clients.
  const addresses: string[] = [];
  const cmds: StormCommand[] = shares(specs, workers.procs.length).map((clients) => ({ cmd: "enter", clients, urls, room, addresses, concurrency: 256 }));
  const done = await workers.all<Entered>(cmds, "entered", 300_000);
  const start = Math.min(...done.map((d) => d.startAt));
  const last = Math.max(...done.map((d) => d.lastAt));
  const refused: Record<string, number> = {};
  for (const d of done) for (const [why, n] of d.refused) refused[why] = (refused[why] ?? 0) + n;
  return { perSec: tokens.length / Math.max(0.001, (last - start) / 1000), refused };
}

async function leave(workers: Workers<StormCommand, StormMessage>): Promise<void> {
  await workers.all(workers.procs.map(() => ({ cmd: "leave" })), "left", 60_000);
}

/** Chatters keep the room's seq moving (1 chat/s each, the default per-user rate). */
async function chatters(url: string, room: string, tokens: string[]): Promise<() => Promise<number>> {
  const socks = await Promise.all(tokens.map((token) => WsClient.connect(url, { token, json: true })));
  for (const ws of socks) await ws.request("room.join", { room }, 30_000);
  let stop = false;
  let sent = 0;
  const loops = socks.map(async (ws, k) => {
    for (let n = 0; !stop; n++) {
      const r = await ws.request("room.chat", { room, text: `tick ${String(k)}.${String(n)}`, cid: `c${String(k)}-${String(n)}` }, 10_000).catch(() => undefined);
      if (r?.t === "ok") sent++;
      await sleep(1000);
    }
  });
  return async () => {
    stop = true;
    await Promise.all(loops);
    for (const ws of socks) ws.close();
    return sent;
  };
}

async function storm(cluster: Cluster, workers: Workers<StormCommand, StormMessage>, o: Options, rule: Rule, tokens: string[], room: string): Promise<StormRun> {
  const gws = cluster.gateways.filter((g) => g.id !== BASELINE);
  const urls = gws.map((g) => g.node.wsUrl);
  say(`${String(o.clients)} clients entering the room over ${String(gws.length)} gateways…`);
  const entered = await enter(workers, tokens, (i) => i % gws.length, urls, room);
  say(`entered at ${String(Math.round(entered.perSec))} joins/s over ${String(gws.length)} gateways; refused and asked again: ${JSON.stringify(entered.refused)}`);
  const stopChat = await chatters(urls[1] ?? "", room, tokens.slice(0, o.chatRate));
  await sleep(2000);
  // Overrun: two gateways of four lost at once (a rack), and all their clients sent to one.
  const killed = rule === "overrun" ? [0, 2] : [0];
  const survivors = rule === "overrun" ? [1] : gws.map((_, i) => i).filter((i) => !killed.includes(i));
  const armed = await workers.all<Extract<StormMessage, { type: "armed" }>>(workers.procs.map(() => ({ cmd: "arm", lost: killed, survivors, rule })), "armed", 30_000);
  const lost = armed.reduce((a, b) => a + b.lost, 0);
  const backs = workers.all<Back>([], "back", 120_000);
  // CPU by part while the storm lasts (user + kernel seconds): where a rejoin's cost goes.
  const groups: Record<string, number[]> = {
    survivors: survivors.map((i) => gws[i]?.node.proc.pid ?? 0),
    actors: cluster.nodes.filter((n) => n.services.includes("rooms")).map((n) => n.node.proc.pid ?? 0),
    nats: cluster.nats.pids,
    clients: workers.procs.map((p) => p.pid ?? 0),
  };
  const cpu0 = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, sumStats(pids).cpuSec]));
  const m0 = machineJiffies();
  const t0 = Date.now();
  const ids = killed.map((i) => gws[i]?.id ?? "");
  await Promise.all(ids.map((id) => cluster.kill(id)));
  say(`killed ${ids.join(" and ")} under ${String(lost)} clients; rule: ${rule}`);
  const got = await backs;
  const cpuSec = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, Math.round((sumStats(pids).cpuSec - (cpu0[k] ?? 0)) * 100) / 100]));
  const m1 = machineJiffies();
  const machineBusyPct = Math.round((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total));
  say(`CPU from the kill until all were back: ${Object.entries(cpuSec).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(", ")}; machine ${String(machineBusyPct)}% busy`);
  const chats = await stopChat();
  const ms = got.flatMap((b) => b.at.map((t) => t - t0)).sort((a, b) => a - b);
  const stage = (f: (b: Back, i: number) => number) => {
    const v = got.flatMap((b) => b.at.map((_, i) => f(b, i))).sort((x, y) => x - y);
    return `p50 ${String(percentile(v, 50))} / p99 ${String(percentile(v, 99))} ms`;
  };
  say(`stages: kill → socket closed ${stage((b, i) => (b.lostAt[i] ?? 0) - t0)}; closed → upgraded ${stage((b, i) => (b.upgradedAt[i] ?? 0) - (b.lostAt[i] ?? 0))}; upgraded → joined ${stage((b, i) => (b.at[i] ?? 0) - (b.upgradedAt[i] ?? 0))}`);
  const peak = peakRate(got.flatMap((b) => b.at.map((t, i) => [t, b.gateway[i] ?? -1] as const)));
  const refused: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  for (const b of got) {
    for (const [why, n] of b.refused) refused[why] = (refused[why] ?? 0) + n;
    for (const [k, n] of Object.entries(b.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + n;
  }
  const run: StormRun = { rule, clients: o.clients, lost, p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms[ms.length - 1] ?? 0, peakPerGateway: peak, refused, outcomes, cpuSec, machineBusyPct };
  say(`${rule}: ${String(lost)} back; p50 ${String(run.p50)} ms, p99 ${String(run.p99)} ms, max ${String(run.max)} ms; peak ${String(peak)} joins/s on one survivor; refusals ${JSON.stringify(refused)}; rejoins ${JSON.stringify(outcomes)}; ${String(chats)} chats acknowledged meanwhile`);
  await leave(workers);
  for (const id of ids) await cluster.restart(id);
  await cluster.waitDiscovery();
  await sleep(1000);
  return run;
}

/** The most joins one gateway took in any 500 ms window, per second. */
function peakRate(backs: (readonly [number, number])[]): number {
  const buckets = new Map<string, number>();
  for (const [t, gw] of backs) {
    const k = `${String(gw)}:${String(Math.floor(t / 500))}`;
    buckets.set(k, (buckets.get(k) ?? 0) + 1);
  }
  return 2 * Math.max(0, ...buckets.values());
}

export async function stormBench(argv: string[]): Promise<void> {
  const o = options(argv);
  const plan: PlannedNode[] = [
    ...Array.from({ length: o.gateways }, (_, i) => ({ id: `gw-${String(i + 1)}`, services: "gateway" })),
    { id: BASELINE, services: "gateway", env: { ESH_GATEWAY_JOIN_BATCH: "1" } },
    { id: "actors-1", services: "sessions,streams,rooms" },
    { id: "actors-2", services: "sessions,streams,rooms" },
  ];
  // Every bench client comes from 127.0.0.1: the per-address limits are lifted (for every gateway alike).
  const env = { ESH_GATEWAY_AUTH_BURST_PER_IP: "1000000", ESH_GATEWAY_AUTH_RATE_PER_IP: "1000000", ESH_GATEWAY_JOINS_PER_IP: "1000000" };
  if (o.profile) for (const p of plan.filter((n) => n.id === "gw-2" || n.id === BASELINE)) p.nodeArgs = ["--cpu-prof", `--cpu-prof-dir=${o.profile}`];
  const cluster = await Cluster.start({ nodes: plan.length, plan, clickhouse: false, env }, say);
  const workers = new Workers<StormCommand, StormMessage>(o.workers, "storm-worker.ts");
  try {
    const http = cluster.node("gw-1").node.url;
    await api(http, "POST", "/api/auth/register", { username: "stormhost", password: "storm host password", role: "creator" });
    const host = (await api(http, "POST", "/api/auth/login", { username: "stormhost", password: "storm host password" })).body.accessToken as string;
    const room = (await api(http, "POST", "/api/streams", { title: "Storm", kind: "live" }, host)).body.id as string;
    say(`${String(o.clients)} guest tokens…`);
    const tokens = await guestTokens(cluster.gateways.map((g) => g.node.url), Math.max(o.clients, o.rateClients));

    // Warm-up, not reported: every gateway's JIT, the room loaded on its owner, the store's buckets open.
    for (const id of ["gw-1", BASELINE]) {
      await enter(workers, tokens.slice(0, Math.min(2000, o.rateClients)), () => 0, [cluster.node(id).node.wsUrl], room);
      await leave(workers);
    }
    // Alternating (ours, baseline, baseline, ours, ...): neither always has the warmer cluster.
    const samples = new Map<string, Rate[]>([["gw-1", []], [BASELINE, []]]);
    for (let round = 0; round < o.repeats; round++) {
      for (const id of round % 2 === 0 ? ["gw-1", BASELINE] : [BASELINE, "gw-1"]) {
        const r = await rate(cluster, workers, id, tokens.slice(0, o.rateClients), room);
        say(`round ${String(round + 1)}, ${id}: ${String(Math.round(r.perSec))} joins/s; gateway CPU ${String(r.gatewayUsPerJoin)} µs/join, cluster ${String(r.clusterUsPerJoin)} µs/join, clients ${String(r.clientUsPerJoin)} µs/join, machine ${String(r.machineBusyPct)}% busy; refused and asked again: ${JSON.stringify(r.refused)}`);
        samples.get(id)?.push(r);
        await leave(workers);
      }
    }
    const rates: [string, RateSummary][] = [["ours: joins batched per room", summarize(samples.get("gw-1") ?? [])], ["baseline: each join its own call (ESH_GATEWAY_JOIN_BATCH=1)", summarize(samples.get(BASELINE) ?? [])]];
    const runs: StormRun[] = [];
    for (const rule of o.rules) runs.push(await storm(cluster, workers, o, rule, tokens.slice(0, o.clients), room));
    // Overrun: everyone at once, and all of them sent to one survivor (a load balancer pinned to
    // it): more joins than it clears within joinQueueMs, so it sheds them with a retry-after.
    if (o.overrun) runs.push(await storm(cluster, workers, o, "overrun", tokens.slice(0, o.clients), room));
    report(o, rates, runs);
  } finally {
    workers.close();
    await cluster.dispose();
  }
}

function report(o: Options, rates: [string, RateSummary][], runs: StormRun[]): void {
  const refusals = (r: Record<string, number>) => Object.entries(r).map(([k, n]) => `${k} ×${String(n)}`).join(", ") || "0";
  if (o.repeats > 0) {
    console.log(`\n| ${String(o.rateClients)} fresh joins through one gateway, median of ${String(o.repeats)} (range) | joins/s (clients on the same 2 cores) | gateway CPU µs/join | joins/s per gateway core | cluster CPU µs/join | refused (asked to wait) |`);
    console.log("|---|---|---|---|---|---|");
    for (const [name, r] of rates) console.log(`| ${name} | ${String(Math.round(r.perSec))} (${String(Math.round(r.minPerSec))}–${String(Math.round(r.maxPerSec))}) | ${String(r.gatewayUsPerJoin)} | ${String(Math.round(1e6 / Math.max(1, r.gatewayUsPerJoin)))} | ${String(r.clusterUsPerJoin)} | ${refusals(r.refused)} |`);
    const [ours, base] = [rates[0]?.[1], rates[1]?.[1]];
    if (ours && base) console.log(`ratio: ${(ours.perSec / base.perSec).toFixed(2)}× the joins/s, ${(base.gatewayUsPerJoin / Math.max(1, ours.gatewayUsPerJoin)).toFixed(2)}× less gateway CPU and ${(base.clusterUsPerJoin / Math.max(1, ours.clusterUsPerJoin)).toFixed(2)}× less cluster CPU per join · target >= 2,000 joins/s per gateway: ${ours.perSec >= 2000 ? "MET" : "NOT MET"} (measured), ${1e6 / Math.max(1, ours.gatewayUsPerJoin) >= 2000 ? "MET" : "NOT MET"} (per gateway core)`);
  }
  console.log(`\n| ${String(o.clients)} clients on ${String(o.gateways)} gateways, gw-1 killed | lost | back p50 ms | p99 ms | max ms | peak joins/s on a survivor | refusals | rejoins |`);
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of runs) console.log(`| ${RULE_NAMES[r.rule]} | ${String(r.lost)} | ${String(r.p50)} | ${String(r.p99)} | ${String(r.max)} | ${String(r.peakPerGateway)} | ${refusals(r.refused)} | ${JSON.stringify(r.outcomes)} |`);
  const app = runs.find((r) => r.rule === "app");
  if (app) console.log(`target p99 <= 2,000 ms at 20,000 clients: ${app.p99 <= 2000 && o.clients >= 20_000 ? "MET" : "NOT MET"} (${String(app.p99)} ms at ${String(o.clients)} clients)`);
  writeBenchResults("storm", "A gateway killed under its clients: the reconnect storm", `${String(o.clients)} guests in one room over ${String(o.gateways)} gateways + 2 actor nodes, default settings, 2 cores shared with the clients`, [
    barChart("Fresh joins through one gateway", "joins/s", rates.filter(([, r]) => r.runs > 0).map(([label, r], i) => ({ label, value: Math.round(r.perSec), baseline: i === 1 }))),
    barChart("Back in the room after the kill, p99", "ms", runs.map((r) => ({ label: r.rule, value: r.p99, baseline: r.rule === "naive" }))),
    table(["clients", "lost", "back p50 ms", "p99 ms", "max ms", "peak joins/s on a survivor", "refusals", "rejoins"], runs.map((r) => [RULE_NAMES[r.rule], r.lost, r.p50, r.p99, r.max, r.peakPerGateway, refusals(r.refused), JSON.stringify(r.outcomes)])),
  ], { options: o, rates: Object.fromEntries(rates), runs }, o.json);
}
