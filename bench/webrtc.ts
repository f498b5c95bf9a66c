/**
 * `npm run bench -- webrtc [--consumers 100,250,500,750,1000] [--seconds 5] [--pps 100]
 *   [--size 1200] [--timed-every 25] [--liburing on|off] [--glass-seconds 10] [--json out.json]`
 * One mediasoup worker (one core) forwards one video producer to N consumers. The producer is
 * fed over a PlainTransport with synthetic VP8 RTP (~1 Mbit/s at the defaults); each consumer
 * is a PlainTransport; every `timed-every`-th one sends to local UDP sinks that time every packet
 * (the others to a closed port: the kernel drops them, so the sinks' own CPU does not become
 * the SFU's latency on a 2-core machine). Baseline from the same
 * run: the same packets sent straight to a sink (loopback without the SFU), so the table shows
 * what the SFU adds. Reports, per step: loss as the SFU counts it (consumer vs producer packet
 * counters) and as the sinks count it, latency p50/p99 and what the SFU adds, worker CPU and
 * CPU per consumer; the headline is the most consumers per worker core at 0% loss.
 * Then glass-to-glass in headless Chromium (bench/webrtc-glass.ts): through the platform vs two
 * RTCPeerConnections talking directly (`--glass-seconds 0` skips it).
 */
import { headlineOf, luckyAfterFailure } from "./headline.js";
import dgram from "node:dgram";
import { writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import * as mediasoup from "mediasoup";
import type { types } from "mediasoup";
import { glassToGlass, type GlassResult } from "./webrtc-glass.js";
import { percentile, PAYLOAD_TYPE, PRODUCER_SSRC, RtpSender, RtpSink } from "./webrtc-rtp.js";

interface Options {
  consumers: number[];
  seconds: number;
  pps: number;
  size: number;
  json: string | undefined;
  glassSeconds: number;
  timedEvery: number;
  liburing: boolean;
}

export interface WebrtcStep {
  consumers: number;
  sent: number;
  sfuLossPct: number;
  sinkLossPct: number;
  p50: number;
  p99: number;
  directP50: number;
  directP99: number;
  addedP50: number;
  addedP99: number;
  workerCpuPct: number;
  cpuPerConsumerPct: number;
}

const SINKS = 8;
/** Above this added p99 a step counts as saturated, whatever its loss. */
const REALTIME_ADDED_P99_MS = 50;
const progress = (line: string) => process.stdout.write(process.stdout.isTTY ? `\r${line.padEnd(100)}` : `${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

function parse(argv: string[]): Options {
  const o: Options = { consumers: [100, 250, 500, 750, 1000], seconds: 5, pps: 100, size: 1200, json: undefined, glassSeconds: 10, timedEvery: 25, liburing: true };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1] ?? ""];
    if (k === "--consumers") o.consumers = v.split(",").map(Number).filter((n) => n > 0);
    else if (k === "--seconds") o.seconds = Number(v);
    else if (k === "--pps") o.pps = Number(v);
    else if (k === "--size") o.size = Number(v);
    else if (k === "--json") o.json = v;
    else if (k === "--glass-seconds") o.glassSeconds = Number(v);
    else if (k === "--timed-every") o.timedEvery = Math.max(1, Number(v));
    else if (k === "--liburing") o.liburing = v !== "off";
    else throw new Error(`unknown option ${String(k)}`);
  }
  return o;
}

async function producerOn(router: types.Router): Promise<{ producer: types.Producer; port: number }> {
  const t = await router.createPlainTransport({ listenInfo: { protocol: "udp", ip: "127.0.0.1" }, rtcpMux: true, comedia: true });
  const producer = await t.produce({
    kind: "video",
    rtpParameters: { codecs: [{ mimeType: "video/VP8", payloadType: PAYLOAD_TYPE, clockRate: 90000 }], encodings: [{ ssrc: PRODUCER_SSRC }] },
  });
  return { producer, port: t.tuple.localPort };
}

/** A loopback UDP port nobody listens on: packets sent there are dropped by the kernel. */
async function closedPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const port = s.address().port;
  s.close();
  return port;
}

async function addConsumers(router: types.Router, producer: types.Producer, sinks: RtpSink[], every: number, from: number, to: number, out: types.Consumer[]): Promise<void> {
  const nowhere = await closedPort();
  for (let i = from; i < to; i++) {
    const t = await router.createPlainTransport({ listenInfo: { protocol: "udp", ip: "127.0.0.1" }, rtcpMux: true, comedia: false });
    await t.connect({ ip: "127.0.0.1", port: i % every === 0 ? (sinks[(i / every) % sinks.length]?.port ?? 0) : nowhere });
    out.push(await t.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities }));
    if (i % 50 === 0) progress(`[webrtc] consumers ${i}/${to}`);
  }
}

async function producerPackets(p: types.Producer): Promise<number> {
  return (await p.getStats()).find((s) => s.type === "inbound-rtp")?.packetCount ?? 0;
}

async function consumerPackets(c: types.Consumer): Promise<number> {
  return (await c.getStats()).find((s) => s.type === "outbound-rtp")?.packetCount ?? 0;
}

async function cpuMs(worker: types.Worker): Promise<number> {
  const u = await worker.getResourceUsage();
  return u.ru_utime + u.ru_stime;
}

async function step(o: Options, worker: types.Worker, producer: types.Producer, consumers: types.Consumer[], sinks: RtpSink[], direct: RtpSink, sender: RtpSender, port: number): Promise<WebrtcStep> {
  const n = consumers.length;
  const warm = o.pps; // one second of warm-up
  const total = warm + o.pps * o.seconds;
  const first = sender.counter + warm;
  const window = { from: first, to: first + o.pps * o.seconds };
  for (const s of [...sinks, direct]) s.reset(window);
  const before = await Promise.all([producerPackets(producer), ...consumers.map(consumerPackets)]);
  let cpu0 = 0;
  let t0 = 0;
  const interval = 1000 / o.pps;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    if (i === warm) [cpu0, t0] = [await cpuMs(worker), performance.now()];
    sender.send([{ port }, { port: direct.port }]);
    const due = start + (i + 1) * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    if (i % o.pps === 0) progress(`[webrtc] ${n} consumers: ${Math.round(i / o.pps)}/${o.seconds + 1} s`);
  }
  const cpu = ((await cpuMs(worker)) - cpu0) / (performance.now() - t0);
  await sleep(300); // drain
  const after = await Promise.all([producerPackets(producer), ...consumers.map(consumerPackets)]);
  const producerGot = after[0] - before[0];
  const forwarded = after.slice(1).reduce((a, v, i) => a + v - (before[i + 1] ?? 0), 0);
  const sent = window.to - window.from;
  const delivered = sinks.reduce((a, s) => a + [...s.received.values()].reduce((x, y) => x + y, 0), 0);
  const lat = sinks.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const dl = [...direct.latencies].sort((a, b) => a - b);
  const [p50, p99, directP50, directP99] = [percentile(lat, 50), percentile(lat, 99), percentile(dl, 50), percentile(dl, 99)];
  return {
    consumers: n,
    sent,
    sfuLossPct: round(Math.max(0, 100 * (1 - forwarded / Math.max(1, producerGot * n))), 3),
    sinkLossPct: round(Math.max(0, 100 * (1 - delivered / (sent * Math.ceil(n / o.timedEvery)))), 3),
    p50: round(p50),
    p99: round(p99),
    directP50: round(directP50, 3),
    directP99: round(directP99, 3),
    addedP50: round(p50 - directP50),
    addedP99: round(p99 - directP99),
    workerCpuPct: round(cpu * 100, 1),
    cpuPerConsumerPct: round((cpu * 100) / n, 4),
  };
}

function chart(file: string, steps: WebrtcStep[], o: Options, glass?: { sfu: GlassResult; direct: GlassResult }): void {
  const maxX = Math.max(...steps.map((s) => s.consumers));
  const maxY = Math.max(10, ...steps.map((s) => Math.min(s.p99, 100)));
  const x = (v: number) => 50 + (v / maxX) * 650;
  const y = (v: number) => 300 - (Math.min(v, 100) / maxY) * 280;
  const line = (key: "p99" | "directP99" | "workerCpuPct", color: string, scale = 1) =>
    `<path d="${steps.map((s, i) => `${i ? "L" : "M"}${x(s.consumers).toFixed(1)},${y(s[key] * scale).toFixed(1)}`).join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`;
  const svg = `<svg width="780" height="335" font-family="sans-serif" font-size="13"><line x1="50" y1="300" x2="700" y2="300" stroke="#333"/><line x1="50" y1="20" x2="50" y2="300" stroke="#333"/>
${line("p99", "#2a7")}${line("directP99", "#37c")}${line("workerCpuPct", "#c63", maxY / 100)}
<text x="60" y="16" fill="#2a7">■ p99 via SFU (ms)</text><text x="220" y="16" fill="#37c">■ p99 direct loopback (ms)</text><text x="430" y="16" fill="#c63">■ worker CPU (% of a core, scaled)</text>
${steps.map((s) => `<text x="${x(s.consumers) - 12}" y="314" font-size="11">${s.consumers}</text>`).join("")}
${[0, 0.5, 1].map((f) => `<text x="8" y="${y(maxY * f) + 4}" font-size="11">${Math.round(maxY * f)} ms</text>`).join("")}
<text x="330" y="328">consumers on one worker (latency axis capped at 100 ms; CPU 100% = top)</text></svg>`;
  const rows = steps.map((s) => `<tr>${Object.values(s).map((v) => `<td>${String(v)}</td>`).join("")}</tr>`).join("");
  writeFileSync(file, `<!doctype html><meta charset="utf-8"><title>Echostreamhub WebRTC forwarding bench</title><body style="font-family:sans-serif;max-width:900px;margin:2rem auto">
<h1>SFU forwarding: one worker, ${o.pps} packets/s of ${o.size} B</h1><p>${new Date().toISOString()}</p>${svg}
${glass ? `<h2>Glass-to-glass in Chromium</h2><p>through the platform: p50 ${glass.sfu.p50} ms, p99 ${glass.sfu.p99} ms · direct RTCPeerConnection pair: p50 ${glass.direct.p50} ms, p99 ${glass.direct.p99} ms</p>` : ""}
<table border="1" cellpadding="4"><tr>${Object.keys(steps[0] ?? {}).map((k) => `<th>${k}</th>`).join("")}</tr>${rows}</table></body>`);
}

export async function webrtcBench(argv: string[]): Promise<void> {
  const o = parse(argv);
  const worker = await mediasoup.createWorker({ logLevel: "error", disableLiburing: !o.liburing });
  const router = await worker.createRouter({ mediaCodecs: [{ kind: "video", mimeType: "video/VP8", clockRate: 90000 }] });
  const { producer, port } = await producerOn(router);
  const sinks = await Promise.all(Array.from({ length: SINKS }, async () => {
    const s = new RtpSink();
    await s.open();
    return s;
  }));
  const direct = new RtpSink();
  await direct.open();
  const sender = new RtpSender(o.size);
  const consumers: types.Consumer[] = [];
  const steps: WebrtcStep[] = [];
  console.log(`[webrtc] mediasoup ${mediasoup.version}, worker pid ${worker.pid}; ${o.pps} packets/s of ${o.size} B (${Math.round((o.pps * o.size * 8) / 1000)} kbit/s) per consumer; every ${o.timedEvery === 1 ? "" : `${o.timedEvery}th `}consumer timed`);
  for (const n of [...o.consumers].sort((a, b) => a - b)) {
    await addConsumers(router, producer, sinks, o.timedEvery, consumers.length, n, consumers);
    const s = await step(o, worker, producer, consumers, sinks, direct, sender, port);
    steps.push(s);
    progress("");
    console.log(`[webrtc] ${String(n).padStart(5)} consumers: SFU loss ${s.sfuLossPct}% · sink loss ${s.sinkLossPct}% · p50 ${s.p50} ms p99 ${s.p99} ms (direct ${s.directP50}/${s.directP99}; SFU adds ${s.addedP50}/${s.addedP99}) · worker ${s.workerCpuPct}% CPU, ${s.cpuPerConsumerPct}% per consumer`);
  }
  // Headline: the most consumers at 0% loss whose added p99 stays real-time (a saturated worker
  // still forwards everything, but late); the raw 0%-loss maximum is printed too.
  // Each the highest step such that it and every lower step passed (headline.ts).
  const lossFree = (s: (typeof steps)[number]) => s.sfuLossPct === 0 && s.sinkLossPct === 0;
  const best = headlineOf(steps, (s) => lossFree(s) && s.addedP99 <= REALTIME_ADDED_P99_MS);
  const raw = headlineOf(steps, lossFree);
  for (const s of luckyAfterFailure(steps, (x) => lossFree(x) && x.addedP99 <= REALTIME_ADDED_P99_MS)) console.log(`[webrtc] ${String(s.consumers)} consumers passed after a lower step failed: shown, not the headline`);
  console.log(best
    ? `\n[webrtc] headline: ${best.consumers} consumers on one worker core at 0% loss (SFU adds p50 ${best.addedP50} ms, p99 ${best.addedP99} ms over direct loopback; ${best.workerCpuPct}% of the core)`
    : "\n[webrtc] headline: no step was loss-free with real-time latency");
  if (raw && raw !== best) console.log(`[webrtc] (${raw.consumers} consumers still had 0% loss, but the saturated worker added p99 ${raw.addedP99} ms)`);
  sender.close();
  for (const s of [...sinks, direct]) s.close();
  worker.close();
  const glass = o.glassSeconds > 0 ? await glassToGlass(o.glassSeconds, (l) => console.log(l)) : undefined;
  if (glass) {
    console.log(`[webrtc] glass-to-glass through the SFU: p50 ${glass.sfu.p50} ms, p99 ${glass.sfu.p99} ms (${glass.sfu.samples} frames)`);
    console.log(`[webrtc] glass-to-glass direct pair:     p50 ${glass.direct.p50} ms, p99 ${glass.direct.p99} ms (${glass.direct.samples} frames)`);
    console.log(`[webrtc] the SFU path adds p50 ${glass.sfu.p50 - glass.direct.p50} ms, p99 ${glass.sfu.p99 - glass.direct.p99} ms (ratio p50 ${(glass.sfu.p50 / Math.max(1, glass.direct.p50)).toFixed(2)}x)`);
  }
  mkdirSync(path.join("bench", "results"), { recursive: true });
  const file = path.join("bench", "results", `webrtc-${Date.now()}.html`);
  chart(file, steps, o, glass);
  console.log(`[webrtc] chart: ${file}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ options: o, steps, headline: best ?? null, glass: glass ?? null }, null, 2));
}
