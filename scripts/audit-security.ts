/**
 * `npm run audit:security [-- --frames 100000 --connections 20 --http 5000 --seed 1]`
 * Starts an embedded node (real gateway, actors, chdb) and attacks it:
 *   WebSocket: random bytes, truncated and bit-flipped valid frames, every message type with
 *     random payloads (wrong types, huge strings, deep nesting, prototype keys), JSON text,
 *     invalid UTF-8, oversized frames; closed connections reconnect with a fresh guest token.
 *   HTTP: every route of the OpenAPI document with random methods, bodies, content types,
 *     headers, bad tokens and traversal paths.
 * Prints what was tried, how the node answered (error codes, close codes, HTTP statuses), and
 * what would be a finding: a crash, an INTERNAL error or a 5xx, the node not answering after,
 * memory that does not come back. Then the targeted attacks (scripts/audit-attacks.ts) on a node
 * with the default limits, as a table: attack, tries, refused, findings.
 */
import { readFileSync } from "node:fs";
import { Packr } from "msgpackr";
import WebSocket from "ws";
import { api, PlatformNode } from "../tools/harness/node.js";
import { MESSAGES } from "../gateway/ws/messages.js";
import { attackTable, runAttacks } from "./audit-attacks.js";

const args = process.argv.slice(2);
const opt = (n: string, d: number) => {
  const i = args.indexOf(`--${n}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const packr = new Packr({ useRecords: false });
let seed = opt("seed", 1) >>> 0 || 1;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)] as T;
const TYPES = Object.keys(MESSAGES);

function randomValue(depth = 0): unknown {
  const r = rand();
  if (depth > 6 || r < 0.15) return pick([null, true, false, 0, -1, 1e308, -0, Number.MAX_SAFE_INTEGER + 2, 3.5, NaN]);
  if (r < 0.35) return pick(["", "x", "a".repeat(5_000), "../../etc/passwd", "'; DROP TABLE events; --", "\u0000", "<script>alert(1)</script>", "%00", "🎉".repeat(50), "__proto__"]);
  if (r < 0.5) return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(depth + 1));
  if (r < 0.55) return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}') as unknown;
  const o: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(rand() * 5); i++) o[pick(["room", "stream", "text", "events", "id", "role", "sql", "token", "limit", "x"])] = randomValue(depth + 1);
  return o;
}

function frame(): Buffer | string {
  const r = rand();
  // Mostly well-formed frames with hostile payloads (they reach the handlers); a malformed
  // frame now and then (three in a row close the socket by design: 4500).
  if (r < 0.08) return Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
  const valid = packr.pack({ t: pick(TYPES), id: Math.floor(rand() * 1e6), d: randomValue() });
  if (r < 0.14) return valid.subarray(0, Math.floor(rand() * valid.length)); // truncated
  if (r < 0.2) {
    const b = Buffer.from(valid);
    for (let i = 0; i < 3; i++) {
      const at = Math.floor(rand() * b.length);
      b[at] = (b[at] ?? 0) ^ (1 << Math.floor(rand() * 8)); // bit flips
    }
    return b;
  }
  if (r < 0.3) return JSON.stringify({ t: pick(TYPES), id: "j", d: randomValue() });
  if (r < 0.31) return Buffer.from([0xc3, 0x28, 0xa0, 0xa1]).toString("latin1"); // not msgpack, not JSON
  if (r < 0.312) return Buffer.alloc(70 * 1024 + Math.floor(rand() * 1024), 0x41); // over the frame limit: the socket is cut
  return valid;
}

interface Tally { [k: string]: number }
/** Every token handed out during the audit: none may appear in the node's logs. */
const issued: string[] = [];
const inc = (t: Tally, k: string) => (t[k] = (t[k] ?? 0) + 1);

async function wsFuzz(node: PlatformNode, frames: number, conns: number): Promise<{ answers: Tally; closes: Tally; sent: number }> {
  const answers: Tally = {};
  const closes: Tally = {};
  let sent = 0;
  const perConn = Math.ceil(frames / conns);
  await Promise.all(Array.from({ length: conns }, async () => {
    let left = perConn;
    while (left > 0) {
      const token = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
      issued.push(token);
      const ws = new WebSocket(`${node.wsUrl}?token=${encodeURIComponent(token)}`);
      ws.on("message", (data: Buffer, binary: boolean) => {
        try {
          const f = (binary ? packr.unpack(data) : JSON.parse(data.toString())) as { t: string; d?: { code?: string } };
          inc(answers, f.t === "error" ? (f.d?.code ?? "error") : f.t);
        } catch {
          inc(answers, "undecodable answer");
        }
      });
      const opened = await new Promise<boolean>((res) => (ws.once("open", () => res(true)), ws.once("error", () => res(false))));
      if (!opened) {
        inc(closes, "upgrade refused");
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const closed = new Promise<number>((res) => ws.once("close", (code) => res(code)));
      const state = { open: true };
      void closed.then(() => (state.open = false));
      while (state.open && left > 0) {
        ws.send(frame());
        sent++;
        left--;
        if (sent % 50 === 0) await new Promise((r) => setTimeout(r, 5)); // let answers flow back
      }
      if (state.open) ws.close();
      inc(closes, String(await closed));
    }
  }));
  return { answers, closes, sent };
}

async function httpFuzz(node: PlatformNode, n: number): Promise<{ statuses: Tally; fiveXX: string[] }> {
  const doc = (await api(node.url, "GET", "/api/openapi.json")).body as { paths: Record<string, Record<string, unknown>> };
  const paths = Object.keys(doc.paths);
  const statuses: Tally = {};
  const fiveXX: string[] = [];
  const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
  issued.push(guest);
  for (let i = 0; i < n; i++) {
    const p = pick(paths).replace(/\{[^}]+\}/g, () => pick(["x", "..%2F..%2Fetc%2Fpasswd", "a".repeat(300), "%00", "1"]));
    const method = pick(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
    const body = method === "GET" || method === "HEAD" ? undefined : rand() < 0.2 ? "{not json" : rand() < 0.1 ? "x".repeat(2 * 1024 * 1024) : JSON.stringify(randomValue());
    const headers: Record<string, string> = { "content-type": pick(["application/json", "text/plain", "application/sdp", "application/offset+octet-stream", ""]) };
    if (rand() < 0.5) headers.authorization = pick([`Bearer ${guest}`, "Bearer x.y.z", "Basic YTpi", `Bearer ${"a".repeat(5000)}`]);
    try {
      const r = await fetch(node.url + p + (rand() < 0.3 ? `?limit=${pick(["-1", "1e9", "abc", "5"])}` : ""), { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(10_000) });
      await r.arrayBuffer();
      inc(statuses, String(r.status));
      if (r.status >= 500 && r.status !== 503) fiveXX.push(`${method} ${p} -> ${r.status}`);
    } catch (err) {
      inc(statuses, `no answer (${(err as Error).name})`);
    }
  }
  return { statuses, fiveXX };
}

async function main(): Promise<void> {
  const frames = opt("frames", 100_000);
  // Rate limits lifted for the audit (they are tested on their own): every frame and request
  // should reach a handler, not stop at the bucket.
  const node = await PlatformNode.start({
    env: {
      LOG_LEVEL: "warn",
      ESH_GATEWAY_AUTH_RATE_PER_IP: "10000",
      ESH_GATEWAY_AUTH_BURST_PER_IP: "10000",
      ESH_GATEWAY_HTTP_RATE_PER_IP: "100000",
      ESH_GATEWAY_HTTP_BURST_PER_IP: "100000",
      ESH_GATEWAY_HTTP_RATE_PER_USER: "100000",
      ESH_GATEWAY_HTTP_BURST_PER_USER: "100000",
      ESH_GATEWAY_WS_RATE_PER_SEC: "100000",
      ESH_GATEWAY_WS_BURST: "100000",
    },
  });
  try {
    const pid = node.proc.pid ?? 0;
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
    const rss0 = rss();
    const t0 = performance.now();
    console.log(`[audit] WebSocket: ${frames.toLocaleString("en")} random and mutated frames over ${opt("connections", 20)} connections`);
    const ws = await wsFuzz(node, frames, opt("connections", 20));
    console.log(`[audit] HTTP: ${opt("http", 5000)} random requests over the OpenAPI routes`);
    const http = await httpFuzz(node, opt("http", 5000));
    // 11 s: the security log's 10 s windows close and write their folded repeats.
    await new Promise((r) => setTimeout(r, 11_000));
    const alive = (await api(node.url, "GET", "/healthz").catch(() => ({ status: 0 }))).status === 200 && node.proc.exitCode === null;
    const rss1 = rss();
    const lines = node.output.split("\n");
    const internal = lines.filter((l) => /INTERNAL|"level":"error"/.test(l)).length;
    const leaked = issued.filter((t) => node.output.includes(t) || node.output.includes(t.split(".")[2] ?? t)).length;
    const security: Tally = {};
    for (const l of lines.filter((x) => x.includes('"category":"security"'))) {
      const j = JSON.parse(l) as { event?: string; repeats?: number };
      security[j.event ?? "?"] = (security[j.event ?? "?"] ?? 0) + 1 + (j.repeats ?? 0);
    }
    console.log(`\n[audit] done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    console.log("\nWebSocket answers:", JSON.stringify(ws.answers));
    console.log("WebSocket close codes:", JSON.stringify(ws.closes));
    console.log("HTTP statuses:", JSON.stringify(http.statuses));
    console.log("Security log (events, with folded repeats):", JSON.stringify(security));
    console.log(`\n| check | result |\n|---|---|`);
    console.log(`| frames sent | ${ws.sent.toLocaleString("en")} |`);
    console.log(`| node alive after (healthz 200, process running) | ${alive ? "yes" : "NO: FINDING"} |`);
    console.log(`| INTERNAL or error-level log lines | ${internal}${internal ? ": FINDING" : ""} |`);
    console.log(`| tokens found in the logs (of ${issued.length} issued) | ${leaked}${leaked ? ": FINDING" : ""} |`);
    console.log(`| HTTP 5xx (other than 503) | ${http.fiveXX.length}${http.fiveXX.length ? `: FINDING ${http.fiveXX.slice(0, 5).join("; ")}` : ""} |`);
    console.log(`| memory (RSS) before / after | ${(rss0 / 1e6).toFixed(0)} MB / ${(rss1 / 1e6).toFixed(0)} MB |`);
    process.exitCode = alive && internal === 0 && leaked === 0 && http.fiveXX.length === 0 ? 0 : 1;
  } finally {
    await node.stop();
  }
  console.log("\n[audit] targeted attacks, on a node with the default limits:");
  const rows = await runAttacks();
  console.log(attackTable(rows));
  if (rows.some((r) => r.findings > 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
