/**
 * `npm run bench -- ingest [--seconds 20] [--connections 8] [--batch 250] [--window 4] [--store chdb|server]`
 * Sustained events/s end to end: a client process sends event batches over WebSockets to an
 * embedded node (gateway -> spool -> analytics actor -> chdb); the figure counts only events
 * acknowledged AND found in the events table (zero loss is checked: count = distinct = acked).
 * Ingest lag: per event, accepted (server_ms) -> stored (stored_at). Baseline, same run, same
 * store: the same number of rows (the very lines the gateway writes) bulk-inserted straight into
 * a fresh chdb from files written beforehand, 100,000 rows per INSERT ... SELECT FROM file(). Targets: >= 100,000 events/s, >= 50% of direct, lag p99 <= 2 s.
 * Writes an HTML chart of accepted vs stored over time to bench/results/.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { clientBatch, deviceFrom } from "../analytics/events.js";
import { ChdbStore } from "../analytics/store-chdb.js";
import { api, PlatformNode } from "../tools/harness/node.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ADMIN = { username: "admin", password: "bench-admin-password" };

interface Options { seconds: number; connections: number; batch: number; window: number; rates: number[] }
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
  const file = path.join(ROOT, "bench", "results", `ingest-${new Date().toISOString().replace(/[:.]/g, "-")}.html`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, chart(steps, direct, o));
  console.log(`chart: ${file}`);
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

function chart(steps: Step[], direct: { rate: number }, o: Options): string {
  const maxX = Math.max(1, ...steps.map((s) => s.acceptedPerSec), direct.rate);
  const x = (v: number) => 60 + (v / maxX) * 620;
  const maxLag = Math.max(2500, ...steps.map((s) => s.lagP99));
  const y = (v: number) => 300 - (v / maxLag) * 280;
  const pts = steps.map((s) => `<circle cx="${x(s.acceptedPerSec)}" cy="${y(s.lagP99)}" r="5" fill="${s.stored === s.acked ? "#2a7" : "#c33"}"><title>${s.rate}/s offered: ${Math.round(s.acceptedPerSec)}/s accepted and stored, lag p99 ${s.lagP99} ms</title></circle><text x="${x(s.acceptedPerSec) + 8}" y="${y(s.lagP99) - 6}" font-size="11">${Math.round(s.rate / 1000)}k offered</text>`).join("");
  const path = `<path d="${steps.map((s, i) => `${i ? "L" : "M"}${x(s.acceptedPerSec).toFixed(1)},${y(s.lagP99).toFixed(1)}`).join(" ")}" fill="none" stroke="#2a7" stroke-width="2"/>`;
  const slo = `<line x1="60" x2="680" y1="${y(2000)}" y2="${y(2000)}" stroke="#999" stroke-dasharray="4"/><text x="600" y="${y(2000) - 4}" font-size="12">lag p99 2 s</text>`;
  const dline = `<line x1="${x(direct.rate)}" x2="${x(direct.rate)}" y1="20" y2="300" stroke="#37c" stroke-dasharray="4"/><text x="${x(direct.rate) - 150}" y="30" fill="#37c" font-size="12">direct inserts ${Math.round(direct.rate / 1000)}k/s</text>`;
  return `<!doctype html><meta charset="utf-8"><title>Echostreamhub ingest bench</title><body style="font-family:sans-serif;max-width:820px;margin:2rem auto">
<h1>Event ingest, embedded (chdb)</h1><p>${new Date().toISOString()} · ${o.connections} connections · batches of ${o.batch} · ${o.seconds} s per step</p>
<h2>Ingest lag p99 as stored events/s grow</h2><svg width="760" height="330" font-family="sans-serif" font-size="13"><line x1="60" y1="300" x2="680" y2="300" stroke="#333"/><line x1="60" y1="20" x2="60" y2="300" stroke="#333"/>${slo}${dline}${path}${pts}<text x="320" y="325">accepted (and stored) events/s</text><text x="0" y="160">lag p99</text><text x="4" y="${y(maxLag) + 4}" font-size="11">${(maxLag / 1000).toFixed(1)} s</text><text x="4" y="${y(0) + 4}" font-size="11">0</text><text x="660" y="318" font-size="11">${Math.round(maxX / 1000)}k/s</text></svg>
<pre>${JSON.stringify(steps, (k, v: unknown) => (k === "samples" ? undefined : v), 1)}</pre></body>`;
}
