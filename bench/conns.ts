/**
 * `npm run bench -- conns [--steps 1000,5000,10000,15000] [--max N] [--servers ours,uws] [--workers 4] [--addresses 8]`
 *
 * Connections one gateway process holds, up to this machine's descriptor limit (the server's
 * soft RLIMIT_NOFILE, less a margin for its own files), and the memory each costs: at each step
 * the server's RSS over its RSS before any client, per connection. Every connection is
 * authenticated (ours: a guest token each) and has joined one room; after the last step one chat
 * must reach every one of them (a held connection that does not deliver does not count).
 * Baseline, same steps: raw uWebSockets.js (bench/baselines/uws-server.ts), the same frames.
 * Kernel socket buffers are not in RSS (they are the kernel's, alike for both).
 */
import { readFileSync } from "node:fs";
import { SERVER_KINDS, type ServerKind } from "./fanout-clients.js";
import type { StepReport, WorkerCommand } from "./fanout-protocol.js";
import { startServer } from "./fanout-servers.js";
import { barChart, lineChart, table, writeBenchResults } from "./chart.js";
import { sumStats, Workers } from "./procs.js";

interface ConnStep {
  connections: number;
  rssMB: number;
  bytesPerConn: number;
  connectSec: number;
}

interface ConnResult {
  kind: ServerKind;
  limit: number;
  steps: ConnStep[];
  /** Connections that received the final chat, of those held. */
  delivered: number;
  held: number;
}

const say = (l: string) => console.log(l);

/** The soft descriptor limit a process has (its children inherit ours). */
function fdLimit(pid: number): number {
  const line = readFileSync(`/proc/${String(pid)}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  return Number(line?.split(/\s+/)[3] ?? 1024);
}

async function runServer(kind: ServerKind, steps: number[], max: number | undefined, workersN: number, addresses: string[]): Promise<ConnResult> {
  const server = await startServer(kind, 1, 10);
  const pid = server.pids[0] ?? 0;
  const limit = Math.min(max ?? Infinity, fdLimit(pid) - 200); // its own files: logs, store, listen sockets
  const targets = [...new Set([...steps.filter((n) => n < limit), limit])].sort((a, b) => a - b);
  const workers = new Workers(workersN);
  const result: ConnResult = { kind, limit, steps: [], delivered: 0, held: 0 };
  try {
    const rss0 = sumStats(server.pids).rssMB;
    const [room] = await server.rooms(1);
    let held = 0;
    for (const n of targets) {
      const add = n - held;
      const tokens = await server.tokens(add);
      const t0 = performance.now();
      const cmds: WorkerCommand[] = workers.procs.map((_, i) => ({ cmd: "connect", worker: i, kind, url: server.urls[0] ?? "", clients: tokens.filter((_, j) => j % workersN === i).map((token) => ({ token, room: room ?? "" })), addresses }));
      await workers.all(cmds, "connected", 120_000 + add * 20);
      held = n;
      await new Promise((r) => setTimeout(r, 1500)); // let RSS settle
      const rss = sumStats(server.pids).rssMB;
      const step = { connections: n, rssMB: Math.round(rss), bytesPerConn: Math.round(((rss - rss0) * 1024 * 1024) / n), connectSec: Math.round((performance.now() - t0) / 100) / 10 };
      result.steps.push(step);
      say(`[conns] ${kind}: ${String(n)} connections held, RSS ${String(step.rssMB)} MB, ${String(step.bytesPerConn)} B per connection (connected in ${String(step.connectSec)} s)`);
    }
    const rates = { [room ?? ""]: { chat: 1, react: 0 } };
    const id = `conns${String(Date.now())}`; // one id: every process counts every process's chats
    const reports = await workers.all<StepReport>(workers.procs.map(() => ({ cmd: "step", id, rates, seconds: 1.2, drainMs: 3000 })), "step", 60_000);
    const sent = reports.reduce((a, r) => a + r.sent.reduce((x, [, k]) => x + k, 0), 0);
    result.held = held;
    result.delivered = reports.reduce((a, r) => a + r.clients.filter(([, unique]) => unique >= sent && sent > 0).length, 0);
    say(`[conns] ${kind}: ${String(result.delivered)}/${String(held)} connections received every one of the ${String(sent)} chats sent after the last step`);
  } finally {
    workers.close();
    await server.stop();
  }
  return result;
}

export async function connsBench(argv: string[]): Promise<void> {
  const get = (k: string) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : undefined);
  const steps = (get("steps") ?? "1000,5000,10000,15000").split(",").map(Number).filter((n) => n > 0);
  const max = get("max") !== undefined ? Number(get("max")) : undefined;
  const servers = (get("servers") ?? "ours,uws").split(",").filter((s): s is ServerKind => (SERVER_KINDS as readonly string[]).includes(s));
  const workersN = Number(get("workers") ?? 4);
  const addresses = Array.from({ length: Number(get("addresses") ?? 8) }, (_, i) => `127.0.0.${String(i + 2)}`);
  const results: ConnResult[] = [];
  for (const kind of servers) results.push(await runServer(kind, steps, max, workersN, addresses));
  say("\nserver  limit  held  delivered  RSS MB  bytes/conn");
  for (const r of results) {
    const last = r.steps.at(-1);
    say(`${r.kind.padEnd(7)} ${String(r.limit).padStart(6)} ${String(r.held).padStart(6)} ${String(r.delivered).padStart(9)} ${String(last?.rssMB ?? 0).padStart(7)} ${String(last?.bytesPerConn ?? 0).padStart(10)}`);
  }
  const ours = results.find((r) => r.kind === "ours")?.steps.at(-1);
  const uws = results.find((r) => r.kind === "uws")?.steps.at(-1);
  if (ours && uws) say(`ours holds ${String(ours.connections)} connections in one process at ${String(ours.bytesPerConn)} B each = ${(ours.bytesPerConn / Math.max(1, uws.bytesPerConn)).toFixed(2)}x raw uWS's ${String(uws.bytesPerConn)} B`);
  writeBenchResults("conns", "Connections held by one gateway process, and memory per connection", "each connection authenticated and in one room; one chat after the last step must reach all; RSS excludes kernel socket buffers", [
    lineChart({ title: "Memory per connection against connections held", xLabel: "connections held", yLabel: "bytes per connection (RSS)", series: results.map((r) => ({ name: r.kind, color: r.kind === "ours" ? "#2a7" : "#888", points: r.steps.map((s) => [s.connections, s.bytesPerConn]) })) }),
    barChart("Connections held (and delivering) per process", "connections", results.map((r) => ({ label: r.kind, value: r.delivered, baseline: r.kind !== "ours" }))),
    table(["server", "connections", "RSS MB", "bytes/conn", "connect s"], results.flatMap((r) => r.steps.map((s) => [r.kind, s.connections, s.rssMB, s.bytesPerConn, s.connectSec]))),
  ], { results });
}
