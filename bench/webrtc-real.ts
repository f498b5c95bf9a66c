/**
 * The forwarding bench's headline step: N real WebRTC viewers (werift, in their own processes:
 * bench/webrtc-receiver.ts) on WebRtcTransports of the same worker and producer. Each viewer's
 * offer is answered by the platform's own WHEP SDP code (media/sdp.ts); ICE and DTLS-SRTP run
 * for real, the viewers send receiver reports (the consumers' RTT shows they arrive) and NACKs.
 */
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { types } from "mediasoup";
import { parseOffer, playerCapabilities, whepAnswer } from "../media/sdp.js";
import type { ReceiverCommand, ReceiverMessage } from "./webrtc-receiver.js";
import { pace, percentile, workerCpuMs, type RtpSender, type RtpSink } from "./webrtc-rtp.js";

export interface RealStep {
  viewers: number;
  processes: number;
  sent: number;
  /** Packets of the window some viewer never got (distinct per viewer), and their share. */
  lost: number;
  lossPct: number;
  duplicates: number;
  p50: number;
  p99: number;
  addedP50: number;
  addedP99: number;
  /** Consumers whose viewer's receiver reports reached the SFU (an RTT, or losses it reported). */
  withReceiverReports: number;
  nacks: number;
  connectMs: number;
  workerCpuPct: number;
  /** CPU of the viewer processes (SRTP, RTCP, JS), % of one core. */
  viewersCpuPct: number;
}

class Receivers {
  readonly procs: ChildProcess[];

  constructor(n: number) {
    this.procs = Array.from({ length: n }, () => fork(path.join("bench", "webrtc-receiver.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  }

  ask<T extends ReceiverMessage>(i: number, cmd: ReceiverCommand, type: T["type"], timeoutMs = 60_000): Promise<T> {
    const p = this.procs[i];
    if (!p) return Promise.reject(new Error(`no viewer process ${i}`));
    return new Promise((resolve, reject) => {
      const done = () => (clearTimeout(timer), p.off("message", on), p.off("exit", onExit));
      const timer = setTimeout(() => (done(), reject(new Error(`viewer process ${i} gave no "${type}" in ${timeoutMs} ms`))), timeoutMs);
      const onExit = (code: number | null) => (done(), reject(new Error(`viewer process ${i} exited (${String(code)})`)));
      const on = (m: ReceiverMessage) => {
        if (m.type !== type && m.type !== "error") return;
        done();
        if (m.type === "error") reject(new Error(`viewer process ${i}: ${m.message}`));
        else resolve(m as T);
      };
      p.on("message", on);
      p.once("exit", onExit);
      p.send(cmd);
    });
  }

  tell(cmd: ReceiverCommand): void {
    for (const p of this.procs) if (p.connected) p.send(cmd);
  }

  close(): void {
    this.tell({ cmd: "close" });
    setTimeout(() => this.procs.forEach((p) => p.kill("SIGKILL")), 3000).unref();
  }
}

export interface RealContext {
  router: types.Router;
  producer: types.Producer;
  worker: types.Worker;
  sender: RtpSender;
  producerPort: number;
  direct: RtpSink;
  pps: number;
  seconds: number;
  log(line: string): void;
}

/** One step: `viewers` real WebRTC viewers in `processes` processes, measured, then torn down. */
export async function realStep(c: RealContext, viewers: number, processes: number): Promise<RealStep> {
  const recv = new Receivers(Math.min(processes, viewers));
  const transports: types.WebRtcTransport[] = [];
  try {
    const share = recv.procs.map((_, i) => Math.floor(viewers / recv.procs.length) + (i < viewers % recv.procs.length ? 1 : 0));
    const t0 = performance.now();
    const offers = await Promise.all(share.map((n, i) => recv.ask<Extract<ReceiverMessage, { type: "offers" }>>(i, { cmd: "offers", n }, "offers")));
    const consumers: types.Consumer[] = [];
    const answers: string[][] = [];
    for (const o of offers) {
      const list: string[] = [];
      for (const sdp of o.sdps) {
        const offer = parseOffer(sdp);
        const t = await c.router.createWebRtcTransport({ listenInfos: [{ protocol: "udp", ip: "127.0.0.1" }] });
        transports.push(t);
        await t.connect({ dtlsParameters: offer.dtls });
        const mid = `${offer.media[0]?.mid ?? 0}`; // sdp-transform parses a numeric mid as a number, whatever its type says
        const consumer = await t.consume({ producerId: c.producer.id, rtpCapabilities: playerCapabilities(offer), mid, enableRtx: false });
        consumers.push(consumer);
        list.push(whepAnswer(offer, t, new Map([[mid, consumer.rtpParameters]])));
      }
      answers.push(list);
    }
    await Promise.all(answers.map((sdps, i) => recv.ask(i, { cmd: "answers", sdps }, "connected")));
    const connectMs = Math.round(performance.now() - t0);
    c.log(`[webrtc real] ${viewers} viewers connected (ICE + DTLS) in ${connectMs} ms`);
    const warm = c.pps;
    const first = c.sender.counter + warm;
    const window = { from: first, to: first + c.pps * c.seconds };
    c.direct.reset(window);
    // Every viewer has its window before the first packet of it is sent (it starts after the warm-up second).
    await Promise.all(recv.procs.map((_, i) => recv.ask(i, { cmd: "window", ...window }, "window")));
    let cpu0 = 0;
    let measuredFrom = 0;
    const atMeasure = async () => {
      measuredFrom = performance.now();
      cpu0 = await workerCpuMs(c.worker);
    };
    const wall = await pace(c.sender, [{ port: c.producerPort }, { port: c.direct.port }], c.pps, warm, c.pps * c.seconds, atMeasure, (s) => c.log(`[webrtc real] ${viewers} viewers: ${s}/${c.seconds + 1} s`));
    const workerCpu = ((await workerCpuMs(c.worker)) - cpu0) / wall;
    await new Promise((r) => setTimeout(r, 500)); // drain, and a receiver report or two
    const viewersWall = performance.now() - measuredFrom;
    const reports = await Promise.all(recv.procs.map((_, i) => recv.ask<Extract<ReceiverMessage, { type: "report" }>>(i, { cmd: "report" }, "report")));
    const stats = await Promise.all(consumers.map(async (x) => (await x.getStats()).find((s) => s.type === "outbound-rtp")));
    const sent = window.to - window.from;
    const got = reports.reduce((n, r) => n + r.received.reduce((a, b) => a + b, 0), 0);
    const lost = sent * viewers - got;
    const lat = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const dl = [...c.direct.latencies].sort((a, b) => a - b);
    const r2 = (v: number) => Math.round(v * 100) / 100;
    const [p50, p99] = [percentile(lat, 50), percentile(lat, 99)];
    return {
      viewers,
      processes: recv.procs.length,
      sent,
      lost,
      lossPct: Number(((100 * lost) / (sent * viewers)).toPrecision(3)),
      duplicates: reports.reduce((n, r) => n + r.duplicates, 0),
      p50: r2(p50),
      p99: r2(p99),
      addedP50: r2(p50 - percentile(dl, 50)),
      addedP99: r2(p99 - percentile(dl, 99)),
      // What the SFU learns only from a viewer's receiver reports: its RTT (0 when under a
      // millisecond on loopback) and the packets it reports lost (the skipped sequence numbers).
      withReceiverReports: stats.filter((s) => (s?.roundTripTime ?? 0) > 0 || (s?.packetsLost ?? 0) > 0).length,
      nacks: stats.reduce((n, s) => n + (s?.nackCount ?? 0), 0),
      connectMs,
      workerCpuPct: Math.round(workerCpu * 1000) / 10,
      viewersCpuPct: Math.round((reports.reduce((n, r) => n + r.cpuMs, 0) / viewersWall) * 1000) / 10,
    };
  } finally {
    recv.close();
    for (const t of transports) t.close();
  }
}
