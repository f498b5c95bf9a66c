/**
 * The servers of the fan-out bench, each in its own process(es), started with the same batching
 * window: ours (one embedded node, or NATS + an actors node + G gateways), raw uWebSockets.js,
 * `ws` and Socket.IO (bench/baselines/). Every wait is bounded: a server that does not come up
 * fails the run with what it printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import type { ServerKind } from "./fanout-clients.js";

export interface Server {
  /** One WebSocket URL per gateway process; client process i uses urls[i % length]. */
  urls: string[];
  /** Every server process (CPU and RSS are summed over them). */
  pids: number[];
  tokens(n: number): Promise<string[]>;
  rooms(r: number): Promise<string[]>;
  stop(): Promise<void>;
}

const BASELINES: Record<Exclude<ServerKind, "ours">, string> = { uws: "bench/baselines/uws-server.ts", ws: "bench/baselines/ws-server.ts", socketio: "bench/baselines/socketio-server.ts" };

/** Limits opened so that the bench measures the engine, not our abuse protections. */
const OPEN_LIMITS = { LOG_LEVEL: "warn", ESH_ROOMS_CHAT_RATE_PER_SEC: "1000", ESH_ROOMS_CHAT_BURST: "1000", ESH_GATEWAY_WS_RATE_PER_SEC: "100000", ESH_GATEWAY_WS_BURST: "100000", ESH_GATEWAY_AUTH_BURST_PER_IP: "1000000", ESH_GATEWAY_WS_PER_IP: "10000000", ESH_GATEWAY_JOINS_PER_IP: "10000000", ESH_GATEWAY_WS_PER_USER: "10000000", ESH_GATEWAY_AUTH_RATE_PER_IP: "100000", ESH_GATEWAY_HTTP_BURST_PER_IP: "1000000", ESH_GATEWAY_MAX_BACKPRESSURE_BYTES: String(16 << 20) };

export async function startServer(kind: ServerKind, gateways: number, batchMs: number, profileDir?: string): Promise<Server> {
  if (kind === "ours") {
    const env = { ...OPEN_LIMITS, ESH_ROOMS_FANOUT_BATCH_MS: String(batchMs) };
    const args = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
    return gateways > 1 ? startOursDistributed(gateways, env, args) : startOurs(env, args);
  }
  const proc = spawn(process.execPath, ["--import", "tsx", BASELINES[kind]], { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", BATCH_MS: String(batchMs) }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start in 30 s:\n${out}`)), 30_000);
    const on = (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout.on("data", on);
    proc.stderr.on("data", on);
    proc.once("exit", (code) => (clearTimeout(timer), reject(new Error(`${kind} server exited with ${String(code)}:\n${out}`))));
  });
  proc.removeAllListeners("exit");
  proc.stderr.on("data", (c: Buffer) => process.stderr.write(`[${kind} server] ${c.toString()}`));
  return {
    urls: [kind === "socketio" ? `http://127.0.0.1:${port}` : `ws://127.0.0.1:${port}/`],
    pids: [proc.pid ?? 0],
    tokens: (n) => Promise.resolve(new Array<string>(n).fill("")),
    rooms: (r) => Promise.resolve(Array.from({ length: r }, (_, i) => `room${i}`)),
    stop: () => kill(proc),
  };
}

/** Our platform as several processes: nats-server, one actors node, `g` gateway nodes. */
async function startOursDistributed(g: number, env: Record<string, string>, nodeArgs: string[]): Promise<Server> {
  const nats = await NatsServer.start();
  const actors = await PlatformNode.start({ services: "sessions,streams,rooms", natsUrl: nats.url, env, nodeArgs });
  const gws: PlatformNode[] = [];
  for (let i = 0; i < g; i++) gws.push(await PlatformNode.start({ services: "gateway", natsUrl: nats.url, env, nodeArgs }));
  const first = gws[0];
  if (!first) throw new Error("no gateway");
  return {
    urls: gws.map((n) => n.wsUrl),
    pids: [nats.pid, ...[actors, ...gws].map((n) => n.proc.pid ?? 0)],
    ...ourApi(first.url),
    stop: async () => {
      // SIGTERM so that a profile is written; SIGKILL after 10 s.
      for (const n of [...gws, actors]) await stopNode(n);
      await nats.dispose();
    },
  };
}

async function startOurs(env: Record<string, string>, nodeArgs: string[]): Promise<Server> {
  const node = await PlatformNode.start({ services: "gateway,sessions,streams,rooms", env, nodeArgs }); // no media or encoders: not measured here
  return { urls: [node.wsUrl], pids: [node.proc.pid ?? 0], ...ourApi(node.url), stop: () => stopNode(node) };
}

async function stopNode(n: PlatformNode): Promise<void> {
  const t = setTimeout(() => n.proc.kill("SIGKILL"), 10_000);
  await n.stop("SIGTERM");
  clearTimeout(t);
}

function ourApi(base: string): Pick<Server, "tokens" | "rooms"> {
  return {
    async tokens(n) {
      const out: string[] = [];
      for (let i = 0; i < n; i += 100) {
        const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => api(base, "POST", "/api/auth/guest")));
        out.push(...batch.map((r) => r.body.accessToken as string));
      }
      return out;
    },
    async rooms(r) {
      const reg = await api(base, "POST", "/api/auth/register", { username: "benchhost", password: "bench password 1", role: "creator" });
      const ids: string[] = [];
      for (let i = 0; i < r; i++) ids.push((await api(base, "POST", "/api/streams", { title: `bench room ${i}`, kind: "live" }, reg.body.accessToken as string)).body.id as string);
      return ids;
    },
  };
}

function kill(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill("SIGKILL");
  });
}
