/**
 * `npm run bench -- ingest [--seconds 15] [--connections 8] [--batch 250] [--window 8] [--rates 50000,...] [--json out.json]`
 * Sustained events/s end to end: a client process sends event batches over WebSockets to an
 * embedded node (gateway -> spool -> analytics actor -> chdb); the figure counts only events
 * acknowledged AND found in the events table (zero loss is checked: count = distinct = acked).
 * Ingest lag: per event, accepted (server_ms) -> stored (stored_at). Baseline, same run, same
 * store: the same number of rows (the very lines the gateway writes) bulk-inserted straight into
 * a fresh chdb from files written beforehand, 100,000 rows per INSERT ... SELECT FROM file(). Targets: >= 100,000 events/s, >= 50% of direct, lag p99 <= 2 s.
 * Writes its JSON and an HTML chart (lag p99 against accepted events/s, the steps) to bench/results/.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { clientBatch, deviceFrom } from "../analytics/events.js";
import { ChdbStore } from "../analytics/store-chdb.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { barChart, lineChart, table, writeBenchResults } from "./chart.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ADMIN = { username: "admin", password: "bench-admin-password" };

interface Options { seconds: number; connections: number; batch: number; window: number; rates: number[]; json: string | undefined }
interface Sample { s: number; accepted: number; stored: number }
interface Step { rate: number; acked: number; failed: number; stored: number; distinct: number; acceptedPerSec: number; drainSec: number; lagP50: number; lagP99: number; samples: Sample[] }

function options(argv: string[]): Options {
  const get = (k: string, d: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? (argv[i + 1] ?? d) : d;
  };
  return {
    seconds: Number(get("seconds", "15")),
    connections: Number(get("connections", "8")),
    batch: Number(get("batch", "250")),
    window: Number(get("window", "8")),
    rates: get("rates", "50000,100000,125000,140000,160000").split(",").map(Number),
    json: argv.includes("--json") ? get("json", "") : undefined,
  };
}

/** Sustained: the highest accepted rate that was stored in full (count = distinct = acked) with
 *  ingest lag p99 <= 2 s. */
const sustained = (steps: Step[]) =>
  steps.filter((s) => s.failed === 0 && s.stored === s.acked && s.distinct === s.stored && s.lagP99 <= 2000).sort((a, b) => a.acceptedPerSec - b.acceptedPerSec).at(-1);

export async function ingestBench(argv: string[]): Promise<void> {
  const o = options(argv);
  console.log(`[ingest] offered rates ${o.rates.join(", ")} events/s, ${o.seconds} s each, ${o.connections} connections, batches of ${o.batch}; embedded (chdb)`);
  const steps = await endToEnd(o);
  const best = sustained(steps);
  const direct = await directInsert(Math.max(...steps.map((s) => s.stored), 1_000_000));
  console.log("\n| offered events/s | accepted events/s | accepted | stored (= distinct) | drained after (s) | ingest lag p50 / p99 (ms) |");
  console.log("|---|---|---|---|---|---|");
  for (const s of steps) console.log(`| ${s.rate.toLocaleString("en")} | ${Math.round(s.acceptedPerSec).toLocaleString("en")} | ${s.acked.toLocaleString("en")}${s.failed ? ` (${s.failed} refused)` : ""} | ${s.stored.toLocaleString("en")} (${s.distinct === s.stored ? "=" : `distinct ${s.distinct}`}) | ${s.drainSec.toFixed(1)} | ${s.lagP50} / ${s.lagP99} |`);
  console.log(`| baseline: direct bulk insert, same rows, same store | ${Math.round(direct.rate).toLocaleString("en")} | ${direct.rows.toLocaleString("en")} | | | |`);
  const rate = Math.round(best?.acceptedPerSec ?? 0);
  console.log(`\nsustained end to end (all stored, none lost, lag p99 <= 2 s): ${rate.toLocaleString("en")} events/s = ${((100 * rate) / direct.rate).toFixed(1)}% of direct inserts`);
  console.log(`targets: >= 100,000 events/s ${rate >= 100_000 ? "MET" : "NOT MET"} · >= 50% of direct ${rate >= 0.5 * direct.rate ? "MET" : "NOT MET"} · lag p99 <= 2 s at that rate ${best ? "MET" : "NOT MET"}`);
  writeBenchResults("ingest", "Event ingest end to end (client → gateway → chdb, embedded) vs direct bulk inserts", `${String(o.connections)} connections · batches of ${String(o.batch)} · ${String(o.seconds)} s per step · embedded (chdb)`, [
    lineChart({ title: "Ingest lag p99 against accepted events/s", xLabel: "accepted (and stored) events/s", yLabel: "lag p99 ms", hline: { y: 2000, label: "lag p99 2 s" }, series: [{ name: "end to end", color: "#2a7", points: steps.map((x) => [x.acceptedPerSec, x.lagP99]) }] }),
    barChart("Events/s stored", "/s", [{ label: "ours, sustained end to end", value: rate, baseline: false }, { label: "direct bulk inserts", value: Math.round(direct.rate), baseline: true }]),
    table(["offered/s", "accepted/s", "accepted", "refused", "stored", "distinct", "drained after s", "lag p50 ms", "lag p99 ms"], steps.map((x) => [x.rate, Math.round(x.acceptedPerSec), x.acked, x.failed, x.stored, x.distinct, Number(x.drainSec.toFixed(1)), x.lagP50, x.lagP99])),
  ], { options: o, steps: steps.map((x) => ({ ...x, samples: undefined })), direct, sustained: rate }, o.json);
}

async function endToEnd(o: Options): Promise<Step[]> {
  const node = await PlatformNode.start({
    env: {
      LOG_LEVEL: "warn",
      ADMIN_USER: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      ESH_GATEWAY_WS_RATE_PER_SEC: "1000000",
      ESH_GATEWAY_WS_BURST: "1000000",
      ESH_GATEWAY_AUTH_RATE_PER_IP: "1000",
      ESH_GATEWAY_AUTH_BURST_PER_IP: "1000",
      ESH_GATEWAY_WS_PER_IP: "10000000",
      ESH_GATEWAY_WS_PER_USER: "10000000",
      ESH_GATEWAY_MAX_FRAME_BYTES: String(1 << 20),
      ESH_GATEWAY_HTTP_RATE_PER_IP: "100000",
      ESH_GATEWAY_HTTP_BURST_PER_IP: "100000",
      ESH_ANALYTICS_ALERT_INTERVAL_MS: "1000",
      ESH_AUTH_ACCESS_TTL_SEC: "7200", // a run lasts minutes: no token refresh in the middle of it
      ESH_AUTH_GUEST_TTL_SEC: "7200",
    },
  });
  try {
    const admin = (await api(node.url, "POST", "/api/auth/login", ADMIN)).body.accessToken as string;
    const tokens: string[] = [];
    for (let i = 0; i < o.connections; i++) tokens.push((await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string);
    const ctx = { node, admin, tokens };
    const steps: Step[] = [];
    for (const [i, rate] of o.rates.entries()) steps.push(await step(ctx, o, rate, `s${i}x`));
    return steps;
  } finally {
    await node.stop();
  }
}

async function sql(node: PlatformNode, admin: string, q: string): Promise<number[]> {
  const r = await api(node.url, "POST", "/api/analytics/query", { sql: q }, admin);
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return ((r.body.rows as number[][])[0] ?? []).map(Number);
}

async function step(ctx: { node: PlatformNode; admin: string; tokens: string[] }, o: Options, rate: number, prefix: string): Promise<Step> {
  const { node, admin, tokens } = ctx;
  const stored = async () => (await sql(node, admin, `SELECT count() FROM events WHERE stream_id LIKE '${prefix}%'`))[0] ?? 0;
  const args = { url: node.wsUrl, tokens, seconds: o.seconds, batch: o.batch, window: o.window, rate, prefix };
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "bench", "ingest-client.ts"), JSON.stringify(args)], { stdio: ["ignore", "pipe", "inherit"] });
  const samples: Sample[] = [];
  let acked = 0;
  let failed = 0;
  let t0 = 0;
  let sendMs = o.seconds * 1000;
  for await (const line of createInterface({ input: child.stdout })) {
    const m = JSON.parse(line) as { t: string; ms?: number; acked?: number; failed?: number };
    if (m.t === "done") sendMs = m.ms ?? sendMs;
    if (m.t === "ready") {
      t0 = performance.now();
      continue;
    }
    acked = m.acked ?? acked;
    failed = m.failed ?? failed;
    samples.push({ s: (performance.now() - t0) / 1000, accepted: acked, stored: await stored() });
    const last = samples.at(-1);
    process.stdout.write(`[ingest] ${rate.toLocaleString("en")}/s offered · ${(last?.s ?? 0).toFixed(0)} s: accepted ${acked.toLocaleString("en")}, stored ${(last?.stored ?? 0).toLocaleString("en")}\n`);
    if (m.t === "done") break;
  }
  let n = 0;
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) if ((n = await stored()) >= acked) break;
  const seconds = (performance.now() - t0) / 1000;
  samples.push({ s: seconds, accepted: acked, stored: n });
  // Per-event ingest lag: accepted (server_ms, stamped by the gateway) -> stored (stored_at).
  const [count = 0, distinct = 0, p50 = 0, p99 = 0] = await sql(node, admin, `SELECT count(), uniqExact(event_id),
    quantileExact(0.5)(toUnixTimestamp64Milli(stored_at) - toInt64(server_ms)), quantileExact(0.99)(toUnixTimestamp64Milli(stored_at) - toInt64(server_ms))
    FROM events WHERE stream_id LIKE '${prefix}%'`);
  return { rate, acked, failed, stored: count, distinct, acceptedPerSec: acked / (sendMs / 1000), drainSec: seconds - sendMs / 1000, lagP50: p50, lagP99: p99, samples };
}

/** The same rows, bulk-inserted straight into a fresh chdb, as the ingester inserts them. */
async function directInsert(rows: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "esh-ingest-direct-"));
  const store = new ChdbStore(dir);
  try {
    await store.migrate();
    const stamp = { userId: "u", sessionId: "s", node: "bench", serverMs: Date.now(), device: deviceFrom("Mozilla/5.0 (X11; Linux x86_64) Chrome/130") };
    const chunk = 100_000;
    const buffers: Buffer[] = [];
    for (let done = 0; done < rows; done += chunk) {
      const n = Math.min(chunk, rows - done);
      const events = [];
      for (let i = 0; i < n; i++) {
        const k = done + i;
        events.push({ id: `d-${k}`, type: k % 10 === 0 ? "buffer.end" : "heartbeat", ts: stamp.serverMs, stream: `bench${k % 16}`, view: `v${k % 97}`, watched: 10_000, bitrate: 1200, duration: k % 10 === 0 ? 250 : 0, rendition: "720p", protocol: "hls" });
      }
      buffers.push(clientBatch(events, stamp).batch.lines); // the very lines the gateway writes
    }
    // The fastest direct path: the files written before the clock starts, then one
    // INSERT ... SELECT FROM file() per 100,000 rows (what the ingester does, minus the pipeline).
    const files = buffers.map((b, i) => {
      const f = path.join(dir, `direct-${i}.jsonl`);
      writeFileSync(f, b);
      return f;
    });
    const t = performance.now();
    for (const f of files) await store.insertFiles("events", [f]);
    const seconds = (performance.now() - t) / 1000;
    return { rows, seconds, rate: rows / seconds };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
