/**
 * Load generator for `bench ingest`, run as its own process so its CPU is not the server's:
 * `connections` WebSockets, each keeping `window` event batches in flight. Every frame is
 * encoded before the clock starts. Prints a JSON line per second ({t:"progress"}) and one at
 * the end ({t:"done", sent, acked, failed}).
 */
import { Packr } from "msgpackr";
import WebSocket from "ws";

interface Args { url: string; tokens: string[]; seconds: number; batch: number; window: number; rate: number; prefix: string }
const a = JSON.parse(process.argv[2] ?? "{}") as Args;
const packr = new Packr({ useRecords: false });
const conns = a.tokens.length;
const framesPerConn = Math.ceil((a.rate * a.seconds) / a.batch / conns);

function frames(c: number): Buffer[] {
  const out: Buffer[] = [];
  const now = Date.now();
  for (let f = 0; f < framesPerConn; f++) {
    const events = [];
    for (let i = 0; i < a.batch; i++) {
      const n = f * a.batch + i;
      events.push({ id: `${a.prefix}${c}-${f}-${i}`, type: n % 10 === 0 ? "buffer.end" : "heartbeat", ts: now, stream: `${a.prefix}${n % 16}`, view: `v${c}-${f % 97}`, watched: 10_000, bitrate: 1200, duration: n % 10 === 0 ? 250 : 0, rendition: "720p", protocol: "hls" });
    }
    out.push(packr.pack({ t: "events", id: f, d: { events } }));
  }
  return out;
}

let sent = 0;
let acked = 0;
let failed = 0;
const pre = a.tokens.map((_, c) => frames(c));
const started = Date.now(); // the clock starts once every frame is encoded
const deadline = started + a.seconds * 1000;

async function run(token: string, pre: Buffer[]): Promise<void> {
  const ws = new WebSocket(`${a.url}?token=${encodeURIComponent(token)}`);
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  let next = 0;
  let inflight = 0;
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    // Paced: frame k of this connection is due at k / (rate / batch / connections) seconds.
    const perSec = a.rate / a.batch / conns;
    const pump = () => {
      const due = Math.floor(((Date.now() - started) / 1000) * perSec) + 1;
      while (inflight < a.window && next < pre.length && next < due && Date.now() < deadline) {
        ws.send(pre[next++] ?? Buffer.alloc(0));
        inflight++;
        sent += a.batch;
      }
      if (inflight === 0 && (next >= pre.length || Date.now() >= deadline)) resolve();
    };
    timer = setInterval(pump, 5);
    ws.on("message", (data: Buffer) => {
      const f = packr.unpack(data) as { t: string; id?: number };
      if (f.id === undefined) return;
      inflight--;
      if (f.t === "ok") acked += a.batch;
      else failed += a.batch;
      pump();
    });
    ws.on("close", () => resolve());
    pump();
  });
  clearInterval(timer);
  ws.close();
}

process.stdout.write(JSON.stringify({ t: "ready", frames: pre.length * framesPerConn }) + "\n");
const tick = setInterval(() => process.stdout.write(JSON.stringify({ t: "progress", ms: Date.now() - started, sent, acked, failed }) + "\n"), 1000);
await Promise.all(a.tokens.map((tok, c) => run(tok, pre[c] ?? [])));
clearInterval(tick);
process.stdout.write(JSON.stringify({ t: "done", ms: Date.now() - started, sent, acked, failed }) + "\n");
process.exit(0);
