/**
 * A whole Echostreamhub cluster as processes on loopback: a 3-server NATS cluster (JetStream,
 * R3), a ClickHouse server when this machine has one (else the analytics node keeps chdb),
 * and N project nodes with roles from ROLE_PLAN. Used by `npm run cluster` and the chaos suite
 * (test/chaos.test.ts). Every node has a DATA_DIR of its own: media objects (uploads, ladders,
 * live HLS) live in a NATS object store on a NATS server of their own (`blobStore`: the chaos
 * suite takes it away while the bus stays), as in a real cluster without shared volumes. Media
 * nodes listen for RTMP on a free port (`rtmpPort`).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClickhouseServer } from "./clickhouse.js";
import { NatsCluster } from "./nats-cluster.js";
import { NatsServer } from "./nats.js";
import { PlatformNode } from "./node.js";
import { freePort, waitFor } from "./ports.js";

/** The full plan (8 nodes): every role twice where a second copy makes sense. */
export const ROLE_PLAN: readonly { id: string; services: string }[] = [
  { id: "gw-1", services: "gateway" },
  { id: "gw-2", services: "gateway" },
  { id: "actors-1", services: "sessions,streams,rooms" },
  { id: "actors-2", services: "sessions,streams,rooms" },
  { id: "media-1", services: "media" },
  { id: "enc-1", services: "encoders" },
  { id: "enc-2", services: "encoders" },
  { id: "analytics-1", services: "analytics,recommenders" },
];
const EXTRA: readonly string[] = ["gateway", "sessions,streams,rooms", "encoders", "media"];

/** Roles for n nodes: below 8, plan entries are folded onto fewer nodes; above, more copies. */
export function planFor(n: number): { id: string; services: string }[] {
  if (!Number.isInteger(n) || n < 1) throw new Error("--nodes must be a positive integer");
  if (n >= ROLE_PLAN.length) {
    const extra = Array.from({ length: n - ROLE_PLAN.length }, (_, i) => ({ id: `extra-${i + 1}`, services: EXTRA[i % EXTRA.length] ?? "gateway" }));
    return [...ROLE_PLAN, ...extra];
  }
  return Array.from({ length: n }, (_, i) => {
    const mine = ROLE_PLAN.filter((_, j) => j % n === i);
    const services = [...new Set(mine.flatMap((p) => p.services.split(",")))].join(",");
    return { id: `node-${i + 1}`, services };
  });
}

/** One node of a plan: its id, its roles, and settings of its own (over the cluster's). */
export interface PlannedNode {
  id: string;
  services: string;
  env?: Record<string, string>;
  /** Flags for its node binary (a bench's --cpu-prof). */
  nodeArgs?: string[];
}

export interface ClusterOptions {
  nodes: number;
  /** The nodes, when not planFor(nodes) (a bench's own layout). */
  plan?: PlannedNode[];
  /** Where everything lives; default a fresh temp dir (removed by dispose). */
  dir?: string;
  /** Start a ClickHouse server when available (default true). */
  clickhouse?: boolean;
  /** Short heartbeats, leases and timeouts so failover shows within seconds (chaos tests). */
  fast?: boolean;
  env?: Record<string, string>;
}

export interface ClusterNode {
  id: string;
  services: string;
  node: PlatformNode;
  opsPort: number;
  dataDir: string;
  /** A media node's RTMP ingest port (0 elsewhere). */
  rtmpPort: number;
  /** Its own settings (PlannedNode.env), kept across restarts. */
  env: Record<string, string>;
}

const FAST = {
  ESH_BROKER_HEARTBEAT_INTERVAL_SEC: "1",
  ESH_BROKER_HEARTBEAT_TIMEOUT_SEC: "3",
  ESH_BROKER_REQUEST_TIMEOUT_MS: "4000",
  ESH_ROOMS_LEASE_TTL_MS: "3000",
  ESH_VOD_JOB_LEASE_MS: "3000",
  ESH_ANALYTICS_ACK_WAIT_MS: "5000",
};

export class Cluster {
  readonly dir: string;
  readonly nats: NatsCluster;
  /** The NATS server holding media objects (apart from the bus). */
  readonly blobStore: NatsServer;
  readonly clickhouse: ClickhouseServer | undefined;
  readonly nodes: ClusterNode[] = [];
  readonly #opts: ClusterOptions;
  readonly #ownsDir: boolean;

  private constructor(opts: ClusterOptions, dir: string, ownsDir: boolean, nats: NatsCluster, blobStore: NatsServer, ch: ClickhouseServer | undefined) {
    this.#opts = opts;
    this.blobStore = blobStore;
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.nats = nats;
    this.clickhouse = ch;
  }

  static async start(opts: ClusterOptions, say: (line: string) => void = () => undefined): Promise<Cluster> {
    const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), "esh-cluster-"));
    mkdirSync(dir, { recursive: true });
    say(`NATS: 3 servers with JetStream in ${dir}`);
    const nats = await NatsCluster.start(path.join(dir, "nats"));
    say("NATS: a server with JetStream for media objects");
    const blobStore = await NatsServer.start();
    const withCh = opts.clickhouse !== false && ClickhouseServer.available();
    if (withCh) say("ClickHouse: starting a server");
    else say(opts.clickhouse === false ? "ClickHouse: off (chdb on the analytics node)" : "ClickHouse: no clickhouse-server on this machine; the analytics node keeps chdb");
    const ch = withCh ? await ClickhouseServer.start().catch(async (err: unknown) => {
      await nats.stop();
      await blobStore.dispose();
      throw err;
    }) : undefined;
    const c = new Cluster(opts, dir, opts.dir === undefined, nats, blobStore, ch);
    // One after another (tsx start-up is CPU-bound), sessions first: gateways are ready once they have its keys.
    const plan: PlannedNode[] = opts.plan ?? planFor(opts.nodes);
    const order = [...plan.filter((p) => p.services.includes("sessions")), ...plan.filter((p) => !p.services.includes("sessions"))];
    try {
      for (const p of order) {
        await c.#startNode(p.id, p.services, p.env, p.nodeArgs);
        say(`node ${p.id} (${p.services}) up`);
      }
      c.nodes.sort((a, b) => plan.findIndex((p) => p.id === a.id) - plan.findIndex((p) => p.id === b.id));
      await c.waitDiscovery();
    } catch (err) {
      // A node that would not start must not leave the others (and NATS, ClickHouse) running:
      // the caller has no cluster to dispose of, and its test process would never exit.
      await c.dispose();
      throw err;
    }
    return c;
  }

  async #startNode(id: string, services: string, own: Record<string, string> = {}, nodeArgs: string[] = []): Promise<ClusterNode> {
    const dataDir = path.join(this.dir, `data-${id}`);
    mkdirSync(dataDir, { recursive: true });
    const opsPort = services.split(",").includes("gateway") ? 0 : await freePort();
    const rtmpPort = services.split(",").includes("media") ? await freePort() : 0;
    const env: Record<string, string> = {
      NODE_ID: id,
      ESH_STORE_REPLICAS: "3",
      ESH_BLOBS_NATS_URL: this.blobStore.url,
      ESH_BLOBS_TIMEOUT_MS: "2000",
      ESH_MEDIA_RTMP_PORT: String(rtmpPort),
      ESH_MEDIA_SRT_PORT: "0",
      LOG_FORMAT: "json",
      ESH_GATEWAY_AUTH_BURST_PER_IP: "1000",
      ESH_GATEWAY_WS_PER_IP: "10000000",
      ESH_GATEWAY_JOINS_PER_IP: "10000000",
      ESH_GATEWAY_WS_PER_USER: "10000000",
      ESH_GATEWAY_HTTP_BURST_PER_IP: "100000",
      ESH_GATEWAY_HTTP_RATE_PER_IP: "100000",
      ...(opsPort ? { OPS_PORT: String(opsPort) } : {}),
      ...(this.clickhouse ? { CLICKHOUSE_URL: this.clickhouse.url } : {}),
      ...(this.#opts.fast ? FAST : {}),
      ...this.#opts.env,
      ...own,
    };
    const node = await PlatformNode.start({ services, natsUrl: this.nats.urls, dataDir, env, nodeArgs });
    const cn: ClusterNode = { id, services, node, opsPort, dataDir, rtmpPort, env: own };
    const i = this.nodes.findIndex((n) => n.id === id);
    if (i >= 0) this.nodes[i] = cn;
    else this.nodes.push(cn);
    return cn;
  }

  /** Every running node has seen every other one. */
  async waitDiscovery(timeoutMs = 30_000): Promise<void> {
    const up = this.nodes.filter((n) => n.node.running);
    await waitFor("every node to see every other", () => up.every((a) => up.every((b) => a === b || a.node.output.includes(`Node '${b.id}' connected`))) || undefined, timeoutMs, 200);
  }

  node(id: string): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  get gateways(): ClusterNode[] {
    return this.nodes.filter((n) => n.services.split(",").includes("gateway"));
  }

  /** kill -9 (or another signal) a node; resolves when its process is gone. */
  async kill(id: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const n = this.node(id);
    n.node.proc.kill(signal);
    await n.node.exited();
  }

  /** Starts a node again with the same id, roles and data directory. */
  async restart(id: string): Promise<ClusterNode> {
    const n = this.node(id);
    if (n.node.running) await this.kill(id, "SIGTERM");
    return this.#startNode(n.id, n.services, n.env);
  }

  /** Rolling restart in plan order: SIGTERM (drain), wait for exit, start, wait until ready. */
  async rollingRestart(onStep: (id: string, ms: number) => void = () => undefined): Promise<void> {
    for (const n of [...this.nodes]) {
      const t0 = Date.now();
      await this.restart(n.id);
      await this.waitDiscovery();
      onStep(n.id, Date.now() - t0);
    }
  }

  async stop(): Promise<void> {
    for (const n of [...this.nodes].reverse()) await n.node.stop("SIGTERM").catch(() => undefined);
    await this.clickhouse?.destroy();
    await this.nats.stop();
    await this.blobStore.dispose();
  }

  async dispose(): Promise<void> {
    await this.stop();
    if (this.#ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
