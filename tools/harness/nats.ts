/** A real nats-server with JetStream, on a free loopback port, in a scratch directory. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, waitFor } from "./ports.js";

export class NatsServer {
  readonly url: string;
  readonly #port: number;
  readonly #dir: string;
  #proc: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.#port = port;
    this.#dir = dir;
    this.url = `nats://127.0.0.1:${port}`;
  }

  static async start(): Promise<NatsServer> {
    const srv = new NatsServer(await freePort(), mkdtempSync(path.join(os.tmpdir(), "esh-nats-")));
    await srv.restart();
    return srv;
  }

  /** The running server's process id (benches sum its CPU), 0 when stopped. */
  get pid(): number {
    return this.#proc?.pid ?? 0;
  }

  /** Starts (again) on the same port and storage directory: JetStream data survives. */
  async restart(): Promise<void> {
    const bin = process.env.NATS_SERVER_BIN ?? "nats-server";
    this.#proc = spawn(bin, ["-a", "127.0.0.1", "-p", String(this.#port), "-js", "-sd", this.#dir], { stdio: "ignore" });
    this.#proc.on("error", (err) => {
      throw new Error(`cannot start ${bin}: ${err.message} (npm test installs it; see README)`);
    });
    await waitFor("nats-server to accept connections", () => canConnect(this.#port));
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(undefined));
  });
}
