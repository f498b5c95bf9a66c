/**
 * Starts a real Echostreamhub node (main.ts through tsx) as a child process with the given
 * environment, on free loopback ports, in a scratch DATA_DIR. Output is kept for failures.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./ports.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface NodeOptions {
  services?: string;
  natsUrl?: string;
  env?: Record<string, string>;
  dataDir?: string;
  /** Wait until /readyz answers 200 (default when the node runs a gateway). */
  waitReady?: boolean;
  /** Extra node flags (the fan-out bench's `--profile`: `--cpu-prof --cpu-prof-dir=...`). */
  nodeArgs?: string[];
}

/** GET /readyz; over TLS the test certificate is self-signed, so it is not verified here. */
function readyStatus(base: string): Promise<number> {
  // Bounded: a request the node accepts and never answers must not hang whoever waits for it.
  if (!base.startsWith("https:")) return fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status);
  return new Promise((resolve, reject) => {
    https.get(`${base}/readyz`, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("timeout", function (this: { destroy(e: Error): void }) {
      this.destroy(new Error("readyz: no answer in 5 s"));
    }).on("error", reject);
  });
}

/** The scrape token test nodes are given (gateway.metricsToken). */
export const METRICS_TOKEN = "test-metrics-token";

/** A gateway's /metrics text, fetched as Prometheus would with the metrics token. */
export async function metricsText(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
}

export class PlatformNode {
  readonly proc: ChildProcess;
  readonly dataDir: string;
  readonly #ownsDir: boolean;
  output = "";
  port = 0;
  scheme: "http" | "https" = "http";

  private constructor(proc: ChildProcess, dataDir: string, ownsDir: boolean) {
    this.proc = proc;
    this.dataDir = dataDir;
    this.#ownsDir = ownsDir;
  }

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `${this.scheme === "https" ? "wss" : "ws"}://127.0.0.1:${this.port}/ws`;
  }

  static async start(opts: NodeOptions = {}): Promise<PlatformNode> {
    const ownsDir = opts.dataDir === undefined;
    const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "esh-node-"));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
      ESH_AUTH_SCRYPT_COST: "1024",
      // Tests and benches register their creators directly; test/security.test.ts checks the default (closed).
      ESH_AUTH_OPEN_CREATOR_SIGNUP: "true",
      ESH_GATEWAY_METRICS_TOKEN: METRICS_TOKEN,
      // One mediasoup worker on a free port: several nodes run side by side in tests.
      ESH_MEDIA_WORKERS: "1",
      ESH_MEDIA_RTC_PORT: "0",
      ESH_MEDIA_RTMP_PORT: "0", // off unless a test gives a free port
      ESH_MEDIA_SRT_PORT: "0",
      ESH_MEDIA_LIVE_HLS: "false", // a live transcode per stream is heavy: only the tests that want it turn it on
      ...(process.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN } : {}),
      ...(opts.services ? { SERVICES: opts.services } : {}),
      ...(opts.natsUrl ? { NATS_URL: opts.natsUrl } : {}),
      ...opts.env,
    };
    const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), "--import", "tsx", "main.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const node = new PlatformNode(proc, dataDir, ownsDir);
    const gatewayWanted = !opts.services || opts.services.split(",").includes("gateway");
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node did not start in 30 s:\n${node.output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        node.output += chunk.toString();
        const m = /serving on (https?):\/\/127\.0\.0\.1:(\d+)/.exec(node.output);
        if (m?.[2]) [node.scheme, node.port] = [m[1] === "https" ? "https" : "http", Number(m[2])];
        if ((gatewayWanted && node.port) || (!gatewayWanted && /Echostreamhub node \S+ started/.test(node.output))) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout.on("data", onData);
      proc.stderr.on("data", onData);
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`node exited with ${code}:\n${node.output}`));
      });
    });
    proc.removeAllListeners("exit");
    if (gatewayWanted && opts.waitReady !== false) await waitFor("/readyz", async () => (await readyStatus(node.url)) === 200 || undefined);
    return node;
  }

  /** The process has neither exited nor been killed. */
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves with the exit code once the process has gone. */
  exited(): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve(this.proc.exitCode);
    return new Promise((r) => this.proc.once("exit", (code) => r(code)));
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const done = this.exited();
    if (this.running) this.proc.kill(signal);
    const code = await done;
    if (this.#ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
    return code;
  }
}

/** A small JSON HTTP client for tests. */
export async function api(base: string, method: string, path: string, body?: unknown, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000), // a request nobody answers fails the test instead of hanging it
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
