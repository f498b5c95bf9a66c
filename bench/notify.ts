/**
 * `npm run bench -- notify [--followers 500] [--poll-ms 1000] [--json out.json]`
 * "A creator you follow went live", end to end on one embedded node: `followers` accounts follow a
 * creator, each holding an authenticated WebSocket; the creator goes live from a real encoder
 * (ffmpeg over RTMP); each follower's latency is the time from the catalog's status change (the
 * stream's updatedAt) to their `notify` frame. Baseline, same followers, a second show: what an
 * app without push does, every follower polling GET /api/streams/:id every `poll-ms` until it
 * says live (latency from the same status change; the requests/s it costs are printed). Target:
 * every follower told within 2 s.
 */
import { api, PlatformNode } from "../tools/harness/node.js";
import { freePort, waitFor } from "../tools/harness/ports.js";
import { WsClient } from "../tools/harness/ws-client.js";
import { publishRtmp, type Publisher } from "../tools/harness/encoders.js";
import { barChart, table, writeBenchResults } from "./chart.js";
import { percentile } from "./webrtc-rtp.js";

const arg = (argv: string[], name: string, d: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};

interface Figures {
  told: number;
  p50: number;
  p99: number;
  max: number;
  requestsPerSec: number;
}

function figures(latencies: number[], requestsPerSec: number): Figures {
  const s = [...latencies].sort((a, b) => a - b);
  return { told: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? 0, requestsPerSec };
}

export async function notifyBench(argv: string[]): Promise<void> {
  const n = arg(argv, "followers", 500);
  const pollMs = arg(argv, "poll-ms", 1000);
  const rtmpPort = await freePort();
  const node = await PlatformNode.start({ env: { ESH_MEDIA_RTMP_PORT: String(rtmpPort), ESH_GATEWAY_AUTH_BURST_PER_IP: "100000", ESH_GATEWAY_AUTH_RATE_PER_IP: "100000", ESH_GATEWAY_HTTP_BURST_PER_IP: "1000000", ESH_GATEWAY_HTTP_RATE_PER_IP: "1000000", ESH_GATEWAY_WS_PER_IP: String(n * 2 + 100), ESH_GATEWAY_HTTP_RATE_PER_USER: "1000", ESH_GATEWAY_HTTP_BURST_PER_USER: "1000" } });
  const sockets: WsClient[] = [];
  const publishers: Publisher[] = [];
  try {
    const login = async (username: string, role: "viewer" | "creator") => {
      await api(node.url, "POST", "/api/auth/register", { username, password: `${username} password 1`, role });
      const r = (await api(node.url, "POST", "/api/auth/login", { username, password: `${username} password 1` })).body as { accessToken: string; user: { id: string } };
      return { id: r.user.id, token: r.accessToken };
    };
    const creator = await login("bench-creator", "creator");
    console.log(`[notify] registering ${String(n)} followers…`);
    const followers: { id: string; token: string }[] = [];
    for (let i = 0; i < n; i += 20) {
      followers.push(...(await Promise.all(Array.from({ length: Math.min(20, n - i) }, (_, k) => login(`follower${String(i + k)}`, "viewer")))));
      if ((i + 20) % 100 === 0) console.log(`[notify]   ${String(Math.min(n, i + 20))} / ${String(n)}`);
    }
    for (let i = 0; i < n; i += 50) await Promise.all(followers.slice(i, i + 50).map((f) => api(node.url, "PUT", `/api/follows/${creator.id}`, undefined, f.token)));
    const count = ((await api(node.url, "GET", `/api/creators/${creator.id}/followers`)).body as { count: number }).count;
    if (count !== n) throw new Error(`${String(count)} followers, not ${String(n)}`);
    const ws = node.url.replace("http", "ws") + "/ws";
    for (let i = 0; i < n; i += 50) sockets.push(...(await Promise.all(followers.slice(i, i + 50).map((f) => WsClient.connect(ws, { token: f.token, json: true })))));
    console.log(`[notify] ${String(n)} followers connected`);
    const goLive = async (title: string) => {
      const id = (await api(node.url, "POST", "/api/streams", { title, kind: "live" }, creator.token)).body.id as string;
      const key = ((await api(node.url, "GET", `/api/streams/${id}/key`, undefined, creator.token)).body as { key: string }).key;
      return { id, start: () => publishers.push(publishRtmp(`rtmp://127.0.0.1:${String(rtmpPort)}/live/${key}`, { seconds: 60, size: "320x180" })) };
    };
    const liveAt = async (id: string) => {
      await waitFor("the show live", async () => (((await api(node.url, "GET", `/api/streams/${id}`)).body as { status: string }).status === "live" ? true : undefined), 60_000, 100);
      return ((await api(node.url, "GET", `/api/streams/${id}`)).body as { updatedAt: number }).updatedAt;
    };

    // Ours: pushed over the WebSocket.
    const a = await goLive("Bench show A");
    const arrivals = sockets.map((s) => s.next((f) => f.t === "notify" && (f.d as { streamId?: string }).streamId === a.id, 60_000).then(() => Date.now()));
    a.start();
    const got = await Promise.all(arrivals);
    const at = await liveAt(a.id);
    const ours = figures(got.map((t) => t - at), 0);

    // Baseline: polling.
    const b = await goLive("Bench show B");
    let requests = 0;
    const started = Date.now();
    const seen = followers.map(async (f, i) => {
      await new Promise((r) => setTimeout(r, (i / n) * pollMs)); // spread over the interval, as real clients are
      for (;;) {
        requests++;
        const s = (await api(node.url, "GET", `/api/streams/${b.id}`, undefined, f.token)).body as { status: string };
        if (s.status === "live") return Date.now();
        await new Promise((r) => setTimeout(r, pollMs));
      }
    });
    await new Promise((r) => setTimeout(r, pollMs * 2)); // polling settled
    b.start();
    const polled = await Promise.all(seen);
    const bAt = await liveAt(b.id);
    const baseline = figures(polled.map((t) => t - bAt), requests / ((Date.now() - started) / 1000));

    const rows: [string, Figures][] = [["ours: pushed over the WebSocket (notify)", ours], [`baseline: polling GET /api/streams/:id every ${String(pollMs)} ms`, baseline]];
    console.log(`\n| ${String(n)} followers | told | p50 ms | p99 ms | max ms | requests/s while waiting |`);
    console.log("|---|---|---|---|---|---|");
    for (const [name, f] of rows) console.log(`| ${name} | ${String(f.told)} / ${String(n)} | ${f.p50.toFixed(0)} | ${f.p99.toFixed(0)} | ${f.max.toFixed(0)} | ${f.requestsPerSec.toFixed(0)} |`);
    console.log(`target: every follower told within 2 s: ${ours.told === n && ours.max <= 2000 ? "MET" : "NOT MET"} (max ${ours.max.toFixed(0)} ms) · polling p50 / ours p50: ${(baseline.p50 / Math.max(1, ours.p50)).toFixed(0)}x`);
    const json = argv.indexOf("--json") >= 0 ? argv[argv.indexOf("--json") + 1] : undefined;
    writeBenchResults("notify", "Live notifications: pushed over the WebSocket vs polling", `${String(n)} followers of one creator, one embedded node; latency from the catalog's status change`, [
      barChart("Latency to the last follower", "ms", rows.map(([label, f], i) => ({ label, value: Math.round(f.max), baseline: i === 1 }))),
      table(["", "told", "p50 ms", "p99 ms", "max ms", "requests/s while waiting"], rows.map(([name, f]) => [name, `${String(f.told)} / ${String(n)}`, Math.round(f.p50), Math.round(f.p99), Math.round(f.max), Math.round(f.requestsPerSec)])),
    ], { followers: n, pollMs, ours, baseline }, json);
  } finally {
    for (const p of publishers) p.stop();
    for (const s of sockets) s.close();
    await node.stop();
  }
}
