/**
 * A real 3-server NATS cluster with JetStream (R3 streams and KV survive one server's loss),
 * on free loopback ports, each server with its own store directory. Servers can be killed and
 * restarted one at a time (chaos scenarios); `urls` is what nodes get as NATS_URL.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { connect } from "nats";
import { freePort, waitFor } from "./ports.js";

interface Server {
  name: string;
  port: number;
  clusterPort: number;
  dir: string;
  proc?: ChildProcess;
  output: string;
}

export class NatsCluster {
  readonly #servers: Server[];
  readonly #dir: string;

  /** The running servers' process ids (benches sum their CPU). */
  get pids(): number[] {
    return this.#servers.flatMap((s) => (s.proc?.pid === undefined || s.proc.exitCode !== null ? [] : [s.proc.pid]));
  }

  private constructor(servers: Server[], dir: string) {
    this.#servers = servers;
    this.#dir = dir;
  }

  /** Starts `size` servers under `dir` and waits until JetStream answers on every one. */
  static async start(dir: string, size = 3): Promise<NatsCluster> {
    const servers: Server[] = [];
    for (let i = 1; i <= size; i++) servers.push({ name: `nats-${i}`, port: await freePort(), clusterPort: await freePort(), dir: path.join(dir, `nats-${i}`), output: "" });
    const c = new NatsCluster(servers, dir);
    for (let i = 0; i < size; i++) c.#spawn(i);
    for (let i = 0; i < size; i++) await c.#waitJetStream(i);
    return c;
  }

  get urls(): string {
    return this.#servers.map((s) => `nats://127.0.0.1:${s.port}`).join(",");
  }

  get size(): number {
    return this.#servers.length;
  }

  url(i: number): string {
    return `nats://127.0.0.1:${this.#at(i).port}`;
  }

  running(i: number): boolean {
    const p = this.#at(i).proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  #at(i: number): Server {
    const s = this.#servers[i];
    if (!s) throw new Error(`no NATS server ${i}`);
    return s;
  }

  #spawn(i: number): void {
    const s = this.#at(i);
    mkdirSync(s.dir, { recursive: true });
    const routes = this.#servers.filter((o) => o !== s).map((o) => `nats://127.0.0.1:${o.clusterPort}`).join(",");
    const bin = process.env.NATS_SERVER_BIN ?? "nats-server";
    const args = ["-n", s.name, "-a", "127.0.0.1", "-p", String(s.port), "-js", "-sd", s.dir, "--cluster_name", "esh", "--cluster", `nats://127.0.0.1:${s.clusterPort}`, "--routes", routes];
    s.proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    const keep = (c: Buffer) => (s.output = (s.output + c.toString()).slice(-20_000));
    s.proc.stdout?.on("data", keep);
    s.proc.stderr?.on("data", keep);
  }

  /** JetStream is up on server i once its account info answers (a meta leader exists). */
  async #waitJetStream(i: number): Promise<void> {
    await waitFor(`JetStream on ${this.#at(i).name}`, async () => {
      const nc = await connect({ servers: this.url(i), reconnect: false, timeout: 1000 });
      try {
        await (await nc.jetstreamManager({ timeout: 2000 })).getAccountInfo();
        return true;
      } finally {
        await nc.close();
      }
    }, 60_000, 250);
  }

  /** Kills server i (SIGKILL: a crash, not a shutdown). */
  async kill(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.#at(i).proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill(signal);
    await gone;
  }

  /** Starts server i again on its ports and store; it rejoins the cluster and catches up. */
  async restart(i: number): Promise<void> {
    this.#spawn(i);
    await this.#waitJetStream(i);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.#servers.length; i++) await this.kill(i, "SIGTERM");
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
