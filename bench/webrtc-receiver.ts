/**
 * A process of real WebRTC viewers for the forwarding bench: werift RTCPeerConnections (ICE,
 * DTLS-SRTP, RTCP receiver reports and NACKs, as werift does them), each receiving the bench's
 * video track from a mediasoup WebRtcTransport. Counts, per connection, the packets of the
 * measured window and times them (the sender's clock is CLOCK_MONOTONIC, shared by processes).
 */
import { Receipts } from "./fanout-protocol.js";
import { RTCPeerConnection, RTCRtpCodecParameters, useNACK, usePLI, type RtpPacket } from "werift";

export const REAL_VP8_PT = 96;
const VP8 = 10; // the bench's VP8 descriptor and key-frame header, as webrtc-rtp.ts writes them

export type ReceiverCommand = { cmd: "offers"; n: number } | { cmd: "answers"; sdps: string[] } | { cmd: "window"; from: number; to: number } | { cmd: "report" } | { cmd: "close" };
export type ReceiverMessage =
  | { type: "offers"; sdps: string[] }
  | { type: "connected"; ms: number }
  | { type: "window" }
  | { type: "report"; received: number[]; duplicates: number; latencies: number[]; cpuMs: number }
  | { type: "error"; message: string };

const pcs: RTCPeerConnection[] = [];
/** Per connection, which packets of the window arrived (a duplicate is not a second delivery). */
let receipts: Receipts[] = [];
let latencies: number[] = [];
let window = { from: Infinity, to: -Infinity };
let cpu0 = process.cpuUsage();
const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const send = (m: ReceiverMessage) => process.send?.(m);

function onRtp(i: number, rtp: RtpPacket): void {
  const p = rtp.payload;
  if (p.length < VP8 + 12) return;
  const counter = p.readUInt32BE(VP8 + 8);
  if (counter < window.from || counter >= window.to) return;
  if (!receipts[i]?.add(0, counter - window.from)) return;
  latencies.push(now() - p.readDoubleBE(VP8));
}

async function offers(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const pc = new RTCPeerConnection({
      iceServers: [], // no STUN: loopback only, and this machine has no internet
      iceAdditionalHostAddresses: ["127.0.0.1"],
      iceUseIpv6: false,
      codecs: { video: [new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, payloadType: REAL_VP8_PT, rtcpFeedback: [useNACK(), usePLI()] })], audio: [] },
    });
    const idx = pcs.push(pc) - 1;
    pc.addTransceiver("video", { direction: "recvonly" }).onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => onRtp(idx, rtp)));
    await pc.setLocalDescription(await pc.createOffer());
    out.push(pc.localDescription?.sdp ?? "");
  }
  return out;
}

async function answers(sdps: string[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(pcs.map((pc, i) => pc.setRemoteDescription({ type: "answer", sdp: sdps[i] ?? "" })));
  await Promise.all(pcs.map((pc) => new Promise<void>((resolve, reject) => {
    if (pc.connectionState === "connected") return resolve();
    const timer = setTimeout(() => reject(new Error(`a peer connection stayed ${pc.connectionState} for 30 s`)), 30_000);
    pc.connectionStateChange.subscribe((s) => {
      if (s !== "connected" && s !== "failed") return;
      clearTimeout(timer);
      if (s === "connected") resolve();
      else reject(new Error("a peer connection failed (ICE or DTLS)"));
    });
  })));
  return Math.round(performance.now() - t0);
}

process.on("message", (m: ReceiverCommand) => {
  void (async () => {
    if (m.cmd === "offers") send({ type: "offers", sdps: await offers(m.n) });
    else if (m.cmd === "answers") send({ type: "connected", ms: await answers(m.sdps) });
    else if (m.cmd === "window") {
      window = { from: m.from, to: m.to };
      receipts = pcs.map(() => new Receipts());
      latencies = [];
      cpu0 = process.cpuUsage();
      send({ type: "window" });
    } else if (m.cmd === "report") {
      const c = process.cpuUsage(cpu0);
      send({ type: "report", received: receipts.map((r) => r.unique), duplicates: receipts.reduce((n, r) => n + r.dups, 0), latencies, cpuMs: (c.user + c.system) / 1000 });
    } else {
      await Promise.all(pcs.map((pc) => pc.close()));
      process.exit(0);
    }
  })().catch((err: unknown) => send({ type: "error", message: err instanceof Error ? err.message : String(err) }));
});
process.on("disconnect", () => process.exit(0));
