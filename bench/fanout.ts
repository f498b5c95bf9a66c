/**
 * `npm run bench -- fanout [--clients 2000] [--rooms 1] [--chat-rate X] [--reaction-rate 20]
 *   [--servers ours,uws,ws,socketio] [--batch-ms 0,10] [--refine 3] [--workers 2] [--gateways G]
 *   [--addresses A] [--step-seconds 5] [--profile DIR] [--json out.json]`
 *
 * Room fan-out, side by side, every server in its own process(es) and given the same work: our
 * platform (auth, seq, durable log, presence, limits on), raw uWebSockets.js `publish` (the
 * engine's ceiling: none of that), a plain `ws` server and Socket.IO (bench/baselines/). Every
 * server runs once per batching window (0: one frame per item; W: at most one frame per room
 * per W ms, leading edge, the same rule everywhere). N clients in R rooms in P client processes
 * (bench/fanout-worker.ts), from A source addresses 127.0.0.2.. Chat carries the sender's clock;
 * each receiver times its first receipt of a chat and counts, per client, what it missed and
 * what it got twice.
 *
 * Without --chat-rate it searches: chat rates per room climb a ladder until two rungs in a row
 * no longer keep up (a client missed or duplicated a chat, or p99 over 1 s), then bisects
 * (--refine steps). Two headlines per server, each the highest rate such that it and every
 * lower rate passed (bench/headline.ts): at the SLO (p99 <= 50 ms, nothing lost or duplicated),
 * and keeping up (the throughput figure every server has, even where the SLO is out of reach:
 * with 2,000 clients in one room on 2 shared cores, raw uWS alone is at ~48 ms p99). --gateways G (G > 1) runs ours as NATS
 * + an actors node + G gateways; its CPU is summed over all of them, so compare CPU per delivery.
 * --profile DIR writes CPU profiles of our node(s) and prints where the time went.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { SERVER_KINDS, type ServerKind } from "./fanout-clients.js";
import { HIST_BUCKETS, percentile, type StepReport, type WorkerCommand } from "./fanout-protocol.js";
import { headlineOf, luckyAfterFailure } from "./headline.js";
import { writeBenchResults } from "./chart.js";
import { fanoutPage } from "./fanout-chart.js";
import { printFanoutReport } from "./fanout-report.js";
import { KEEP_UP_P99_MS, label, SLO_P99_MS, stepsByRate, type Options, type ServerResult, type StepResult } from "./fanout-results.js";
import { startServer } from "./fanout-servers.js";
import { machineJiffies, procStats, sumStats, Workers } from "./procs.js";
import { printProfile } from "./profile.js";

const LADDER = [1, 2, 5, 10, 20, 50, 100, 200, 400, 800, 1600, 3200, 6400];

const progress = (line: string) => process.stdout.write(process.stdout.isTTY ? `\r${line.padEnd(110)}` : `${line}\n`);

async function runServer(kind: ServerKind, batchMs: number, o: Options): Promise<ServerResult> {
  const name = label({ kind, batchMs });
  progress(`[${name}] starting the server`);
  const profileDir = kind === "ours" && o.profile ? path.resolve(o.profile, `batch-${batchMs}`) : undefined;
  const server = await startServer(kind, o.gateways, batchMs, profileDir);
  const workers = new Workers(o.workers);
  const result: ServerResult = { kind, batchMs, processes: server.pids.length, connected: o.clients, memPerConnKB: 0, steps: [] };
  try {
    const rss0 = sumStats(server.pids).rssMB;
    progress(`[${name}] rooms and ${o.clients} tokens`);
    const rooms = await server.rooms(o.rooms);
    const tokens = await server.tokens(o.clients);
    const addresses = Array.from({ length: o.addresses }, (_, i) => `127.0.0.${i + 2}`);
    const perWorker: { token: string; room: string }[][] = workers.procs.map(() => []);
    const members = new Map<string, number>();
    // Each room's members spread over every client process (client i: room i % R, process
    // (i / R) % P), and each process sends a room's chats in proportion to the processes holding it.
    const holders = new Map<string, Set<number>>();
    for (let i = 0; i < o.clients; i++) {
      const room = rooms[i % rooms.length] ?? "";
      const w = Math.floor(i / rooms.length) % o.workers;
      perWorker[w]?.push({ token: tokens[i] ?? "", room });
      members.set(room, (members.get(room) ?? 0) + 1);
      holders.set(room, (holders.get(room) ?? new Set()).add(w));
    }
    const connected = new Array<number>(o.workers).fill(0);
    progress(`[${name}] connecting ${o.clients} clients`);
    const cmds: WorkerCommand[] = perWorker.map((clients, i) => ({ cmd: "connect", worker: i, kind, url: server.urls[i % server.urls.length] ?? "", clients, addresses }));
    await workers.all(cmds, "connected", 60_000 + o.clients * 20, (m, i) => {
      if (m.type === "progress") connected[i] = m.connected;
      progress(`[${name}] connecting ${connected.reduce((a, b) => a + b, 0)}/${o.clients}`);
    });
    await new Promise((r) => setTimeout(r, 1000));
    result.memPerConnKB = Math.round(((sumStats(server.pids).rssMB - rss0) * 1024 * 10) / o.clients) / 10;
    const step = (rate: number, seconds = o.stepSeconds) => runStep(name, workers, holders, members, rate, { ...o, stepSeconds: seconds }, server.pids);
    progress(`[${name}] warm-up (not reported)`);
    await step(Math.max(5, o.chatRate ?? 0), 2); // warm-up (JIT, buffers, first GCs)
    await search(result, step, o);
  } finally {
    workers.close();
    await server.stop();
  }
  if (profileDir) {
    console.log(`[${name}] profiled (--cpu-prof): its figures carry the profiler's cost and are not compared with the baselines'`);
    printProfile(profileDir, name);
  }
  return result;
}

/**
 * The ladder until two rungs in a row no longer keep up (something lost, or p99 over 1 s), then
 * bisection (--refine steps each) above the highest rate that held the SLO and above the highest
 * that kept up. Headlines: the highest rate such that it and every lower rate passed.
 */
async function search(result: ServerResult, step: (rate: number) => Promise<StepResult>, o: Options): Promise<void> {
  const name = label(result);
  let failedInARow = 0;
  for (const rate of o.chatRate !== undefined ? [o.chatRate] : LADDER) {
    const s = await step(rate);
    result.steps.push(s);
    failedInARow = s.keepsUp ? 0 : failedInARow + 1;
    if (o.chatRate === undefined && failedInARow >= 2) break;
  }
  for (const pass of [(s: StepResult) => s.keepsUp, (s: StepResult) => s.pass]) {
    for (let i = 0; i < o.refine && o.chatRate === undefined; i++) {
      const lo = headlineOf(stepsByRate(result), pass)?.chatRate;
      const hi = stepsByRate(result).find((s) => s.chatRate > (lo ?? Infinity))?.chatRate;
      if (lo === undefined || hi === undefined) break;
      const mid = Math.round((lo + hi) / 2);
      if (mid <= lo || mid >= hi) break;
      result.steps.push(await step(mid));
    }
  }
  result.sustainable = headlineOf(stepsByRate(result), (s) => s.pass);
  result.saturation = headlineOf(stepsByRate(result), (s) => s.keepsUp);
  for (const s of luckyAfterFailure(stepsByRate(result), (x) => x.pass)) console.log(`[${name}] ${String(s.chatRate)} chat/s held the SLO above a rate that did not: shown, not the headline`);
}

async function runStep(name: string, workers: Workers, holders: Map<string, Set<number>>, members: Map<string, number>, rate: number, o: Options, pids: number[]): Promise<StepResult> {
  progress(`[${name}] ${o.clients} clients, ${rate} chat/s + ${o.reactionRate} reactions/s per room, ${o.stepSeconds} s ...`);
  const ratesOf = (w: number) => Object.fromEntries([...holders].filter(([, ws]) => ws.has(w)).map(([room, ws]) => [room, { chat: rate / ws.size, react: o.reactionRate / ws.size }]));
  const before = sumStats(pids);
  const cpu0 = before.cpuSec;
  const clientCpu = () => workers.procs.reduce((n, p) => n + procStats(p.pid ?? 0).cpuSec, 0);
  const ccpu0 = clientCpu();
  const m0 = machineJiffies();
  const t0 = performance.now();
  const drainMs = 1500;
  const id = `s${rate}x${Date.now()}`; // one id for every client process: each counts only this step's chats
  const reports = await workers.all<StepReport>(workers.procs.map((_, w) => ({ cmd: "step", id, rates: ratesOf(w), seconds: o.stepSeconds, drainMs })), "step", o.stepSeconds * 1000 + drainMs + 60_000);
  const wall = (performance.now() - t0) / 1000;
  const stats = sumStats(pids);
  const ccpu1 = clientCpu();
  const m1 = machineJiffies();
  const s = tally(reports, members);
  const cpuSec = stats.cpuSec - cpu0;
  const step: StepResult = {
    chatRate: rate,
    ...s,
    sentPerSec: Math.round((s.sent / o.stepSeconds) * 10) / 10,
    deliveriesPerSec: Math.round(s.delivered / o.stepSeconds),
    serverCpuSec: Math.round(cpuSec * 100) / 100,
    usPerDelivery: s.delivered > 0 ? Math.round((cpuSec * 1e7) / s.delivered) / 10 : NaN,
    serverCpuPct: Math.round((cpuSec / wall) * 100),
    serverKernelPct: cpuSec > 0 ? Math.round((100 * (stats.sysSec - before.sysSec)) / cpuSec) : 0,
    serverRssMB: Math.round(stats.rssMB),
    clientCpuPct: Math.round(((ccpu1 - ccpu0) / wall) * 100),
    machineBusyPct: Math.round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100),
    pass: s.p99 <= SLO_P99_MS && s.lost === 0 && s.dups === 0 && s.sent > 0,
    keepsUp: s.p99 <= KEEP_UP_P99_MS && s.lost === 0 && s.dups === 0 && s.sent > 0,
  };
  // The clients could not offer the load (their own CPU): the step says nothing of the server.
  if (s.sent + o.workers * holders.size < 0.95 * rate * o.stepSeconds * holders.size) {
    step.pass = false;
    step.keepsUp = false;
  }
  // A server that died or went silent fails the run, with what is known; it is not a slow step.
  for (const pid of pids) if (!existsSync(`/proc/${pid}`)) throw new Error(`[${name}] server process ${pid} is gone`);
  if (s.sent > 0 && s.delivered === 0) throw new Error(`[${name}] ${s.sent} chats sent at ${rate}/s and not one delivered: the server is silent`);
  if (!step.keepsUp) await settle(name, pids, workers.procs.map((p) => p.pid ?? 0));
  progress(`[${name}] ${rate}/s: p99 ${step.p99} ms, ${step.deliveriesPerSec} deliveries/s, lost ${step.lost} (${step.clientsMissing} clients), dups ${step.dups}${Object.keys(step.refused).length ? `, refused ${JSON.stringify(step.refused)}` : ""}, server ${step.usPerDelivery} µs/delivery, clients cpu ${step.clientCpuPct}%, machine busy ${step.machineBusyPct}% -> ${step.pass ? "holds the SLO" : step.keepsUp ? "keeps up, over the SLO" : "does not keep up"}`);
  if (process.stdout.isTTY) process.stdout.write("\n");
  return step;
}

/**
 * After a step that did not keep up, the servers and clients still work through its backlog:
 * the next step waits until both are idle (under a tenth of a core for a second), up to 60 s.
 */
async function settle(name: string, server: number[], clients: number[]): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const [a, b] = [sumStats(server).cpuSec, sumStats(clients).cpuSec];
    await new Promise((r) => setTimeout(r, 1000));
    const [da, db] = [sumStats(server).cpuSec - a, sumStats(clients).cpuSec - b];
    if ((da < 0.1 && db < 0.1) || performance.now() - t0 > 60_000) break;
    progress(`[${name}] settling after the backlog: server ${Math.round(da * 100)}%, clients ${Math.round(db * 100)}% of a core`);
  }
}

/** Per-client accounting: each client owes every chat sent to its room, once. */
export function tally(reports: Pick<StepReport, "hist" | "sent" | "clients" | "refused">[], members: Map<string, number>): Pick<StepResult, "p50" | "p99" | "p999" | "sent" | "expected" | "delivered" | "lost" | "dups" | "clientsMissing" | "refused"> {
  const hist = new Array<number>(HIST_BUCKETS).fill(0);
  for (const r of reports) for (let i = 0; i < HIST_BUCKETS; i++) hist[i] = (hist[i] ?? 0) + (r.hist[i] ?? 0);
  const sentTo = new Map<string, number>();
  for (const r of reports) for (const [room, n] of r.sent) sentTo.set(room, (sentTo.get(room) ?? 0) + n);
  let delivered = 0;
  let lost = 0;
  let dups = 0;
  let clientsMissing = 0;
  for (const r of reports) {
    for (const [room, unique, d] of r.clients) {
      const owed = sentTo.get(room) ?? 0;
      delivered += Math.min(unique, owed);
      lost += Math.max(0, owed - unique);
      dups += d;
      if (unique < owed) clientsMissing++;
    }
  }
  const refused: Record<string, number> = {};
  for (const r of reports) for (const [code, n] of r.refused) refused[code] = (refused[code] ?? 0) + n;
  const sent = [...sentTo.values()].reduce((a, b) => a + b, 0);
  const expected = [...sentTo].reduce((n, [room, k]) => n + k * (members.get(room) ?? 0), 0);
  return { p50: percentile(hist, 0.5), p99: percentile(hist, 0.99), p999: percentile(hist, 0.999), sent, expected, delivered, lost, dups, clientsMissing, refused };
}

export async function fanoutBench(argv: string[]): Promise<void> {
  const o = parse(argv);
  const results: ServerResult[] = [];
  // The order turns between batching modes, so no server always runs first (or last) on the box.
  for (const [b, batchMs] of o.batches.entries()) {
    const order = b % 2 === 0 ? o.servers : [...o.servers].reverse();
    for (const kind of order) results.push(await runServer(kind, batchMs, o));
  }
  results.sort((a, b) => o.batches.indexOf(a.batchMs) - o.batches.indexOf(b.batchMs) || o.servers.indexOf(a.kind) - o.servers.indexOf(b.kind));
  printFanoutReport(results, o);
  const page = fanoutPage(results, o);
  writeBenchResults("fanout", page.heading, page.note, page.parts, { options: o, results }, o.json);
}

function parse(argv: string[]): Options {
  const o: Options = { clients: 2000, rooms: 1, reactionRate: 20, servers: [...SERVER_KINDS], batches: [0, 10], refine: 3, workers: 2, gateways: 1, addresses: 4, stepSeconds: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i] ?? "";
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value for ${k}`);
    const num = (min = 1) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < min) throw new Error(`${k} wants a number >= ${min}`);
      return n;
    };
    if (k === "--clients") o.clients = num();
    else if (k === "--rooms") o.rooms = num();
    else if (k === "--chat-rate") o.chatRate = num();
    else if (k === "--reaction-rate") o.reactionRate = num(0);
    else if (k === "--workers") o.workers = num();
    else if (k === "--gateways") o.gateways = num();
    else if (k === "--addresses") o.addresses = Math.min(250, num());
    else if (k === "--step-seconds") o.stepSeconds = num();
    else if (k === "--refine") o.refine = num(0);
    else if (k === "--batch-ms") o.batches = v.split(",").map(Number).filter((n) => Number.isInteger(n) && n >= 0 && n <= 20);
    else if (k === "--profile") o.profile = v;
    else if (k === "--json") o.json = v;
    else if (k === "--servers") o.servers = v.split(",").filter((s): s is ServerKind => (SERVER_KINDS as readonly string[]).includes(s));
    else throw new Error(`unknown option ${k}`);
  }
  if (o.servers.length === 0 || o.batches.length === 0) throw new Error("--servers takes ours,uws,ws,socketio and --batch-ms windows 0..20");
  if (o.workers < o.gateways) throw new Error("--workers must be at least --gateways: each gateway needs a client process of its own");
  return o;
}
