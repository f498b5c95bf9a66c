/**
 * Live to HLS: a live stream's producers are consumed over PlainTransports into one ffmpeg
 * process (an SDP file tells it what arrives on which local UDP port), which transcodes the
 * ladder (240p/480p/720p, 2 s GOP-aligned segments) into a sliding-window HLS playlist in the
 * directory it is given (the media node's scratch space; live-mirror.ts copies it into the blob
 * store for gateways and edges). Segments are AES-128 encrypted and
 * the key rotates every `KEY_ROTATE_SEGMENTS` segments (ffmpeg re-reads the key info file each
 * segment: periodic_rekey); keys stay in memory here and are served by the key endpoint through
 * the media actor (`media.liveKey`). A key frame is asked for while ffmpeg starts. Closing it
 * closes the consumers and kills ffmpeg.
 */
import { LIVE_CARD, LIVE_CARD_EVERY_SEC } from "../protocol/media.js";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { types } from "mediasoup";
import { HLS_LADDER, ladderFilter, SEGMENT_SEC } from "./ladder.js";

export const LIVE_WINDOW_SEGMENTS = 6;
export const KEY_ROTATE_SEGMENTS = 5;
const KEYS_KEPT = 8;

interface Leg {
  kind: types.MediaKind;
  transport: types.PlainTransport;
  consumer: types.Consumer;
  port: number;
}

/** An even UDP port whose next port is free too (RTP + RTCP, as ffmpeg's SDP input expects). */
async function portPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const a = dgram.createSocket("udp4");
    const port = await new Promise<number>((resolve) => a.bind(0, "127.0.0.1", () => resolve(a.address().port)));
    a.close();
    const even = port % 2 === 0 ? port : port + 1;
    const ok = await Promise.all([even, even + 1].map((p) => new Promise<boolean>((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind(p, "127.0.0.1", () => s.close(() => resolve(true)));
    })));
    if (ok.every(Boolean)) return even;
  }
  throw new Error("no free UDP port pair for live HLS");
}

function sdp(legs: Leg[]): string {
  const lines = ["v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=echostreamhub live", "c=IN IP4 127.0.0.1", "t=0 0"];
  for (const l of legs) {
    const codec = l.consumer.rtpParameters.codecs[0];
    if (!codec) continue;
    const name = codec.mimeType.split("/")[1] ?? "";
    lines.push(`m=${l.kind} ${l.port} RTP/AVP ${codec.payloadType}`, `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels ? `/${codec.channels}` : ""}`);
    if (name.toUpperCase() === "H264") lines.push(`a=fmtp:${codec.payloadType} packetization-mode=1`);
    lines.push("a=recvonly");
  }
  return lines.join("\r\n") + "\r\n";
}

export class LiveHls {
  readonly outDir: string;
  readonly #legs: Leg[];
  readonly #ffmpeg: ChildProcess;
  readonly #keyTimer: NodeJS.Timeout;
  readonly #keys: LiveKeys;
  #closed = false;

  private constructor(outDir: string, legs: Leg[], ffmpeg: ChildProcess, keyTimer: NodeJS.Timeout, keys: LiveKeys) {
    this.outDir = outDir;
    this.#legs = legs;
    this.#ffmpeg = ffmpeg;
    this.#keyTimer = keyTimer;
    this.#keys = keys;
  }

  /** Key number n of this live session, while it is recent enough to be asked for. */
  key(n: number): Buffer | undefined {
    return this.#keys.get(n);
  }

  /** Starts packaging these producers (one video, at most one audio) of a router. */
  /** `recording`: also keep the incoming media as is (stream copy, Matroska) in this file. */
  static async start(router: types.Router, producers: types.Producer[], outDir: string, keyUri: (n: number) => string, onExit: (why: string) => void, recording?: string): Promise<LiveHls> {
    rmSync(outDir, { recursive: true, force: true });
    const keys = new LiveKeys(path.join(outDir, ".keys"), keyUri);
    const rungs = HLS_LADDER.slice(0, 3);
    for (const r of rungs) mkdirSync(path.join(outDir, r.name), { recursive: true });
    const legs: Leg[] = [];
    for (const p of producers) {
      const port = await portPair();
      const transport = await router.createPlainTransport({ listenInfo: { protocol: "udp", ip: "127.0.0.1" }, rtcpMux: false, comedia: false });
      await transport.connect({ ip: "127.0.0.1", port, rtcpPort: port + 1 });
      const consumer = await transport.consume({ producerId: p.id, rtpCapabilities: router.rtpCapabilities, paused: true });
      legs.push({ kind: p.kind, transport, consumer, port });
    }
    const sdpFile = path.join(outDir, "input.sdp");
    writeFileSync(sdpFile, sdp(legs));
    const hasAudio = legs.some((l) => l.kind === "audio");
    const gop = 30 * SEGMENT_SEC;
    const maps = rungs.flatMap((r, i) => [
      "-map", `[v${i}]`, `-c:v:${i}`, "libx264", `-b:v:${i}`, `${r.videoKbps}k`, `-maxrate:v:${i}`, `${Math.round(r.videoKbps * 1.1)}k`, `-bufsize:v:${i}`, `${r.videoKbps}k`,
      ...(hasAudio ? ["-map", "0:a:0", `-c:a:${i}`, "aac", `-b:a:${i}`, `${r.audioKbps}k`, `-ac:a:${i}`, "2"] : []),
    ]);
    // The live ladder: the VOD cascade without the sprite, on a steady 30 fps.
    // Plus the home page's card: a 320 px frame now and every LIVE_CARD_EVERY_SEC (card.jpg, rewritten in place).
    const filter = [`[0:v]fps=30,split=2[src][cardsrc]`, `[cardsrc]fps=1/${String(LIVE_CARD_EVERY_SEC)},scale=320:-2[card]`, ...ladderFilter(rungs, 1, { sprite: false, input: "[src]" })].join(";");
    const args = [
      "-v", "error", "-protocol_whitelist", "file,udp,rtp", "-fflags", "+genpts", "-analyzeduration", "2000000", "-i", sdpFile,
      "-filter_complex", filter,
      ...maps,
      "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0",
      "-f", "hls", "-hls_time", String(SEGMENT_SEC), "-hls_list_size", String(LIVE_WINDOW_SEGMENTS), "-hls_flags", "delete_segments+independent_segments+periodic_rekey",
      "-hls_key_info_file", keys.infoFile,
      "-hls_segment_filename", path.join(outDir, "%v", "seg_%05d.ts"), "-master_pl_name", "master.m3u8",
      "-var_stream_map", rungs.map((r, i) => (hasAudio ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`)).join(" "),
      path.join(outDir, "%v", "index.m3u8"),
      "-map", "[card]", "-f", "image2", "-update", "1", "-atomic_writing", "1", "-q:v", "5", path.join(outDir, LIVE_CARD),
      ...(recording ? ["-map", "0:v:0", ...(hasAudio ? ["-map", "0:a:0"] : []), "-c", "copy", "-f", "matroska", recording] : []),
    ];
    const ffmpeg = spawn("ffmpeg", args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    ffmpeg.on("error", (e) => (stderr += `\ncannot run ffmpeg: ${e.message}`)); // not spawned: "close" follows
    ffmpeg.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    await new Promise((r) => setTimeout(r, 300)); // ffmpeg opens its UDP ports before RTP flows
    for (const l of legs) await l.consumer.resume();
    const video = legs.find((l) => l.kind === "video")?.consumer;
    let asks = 0;
    const keyTimer = setInterval(() => {
      if (asks++ < 10) video?.requestKeyFrame().catch(() => undefined);
    }, 1000);
    keyTimer.unref();
    const hls = new LiveHls(outDir, legs, ffmpeg, keyTimer, keys);
    ffmpeg.once("close", (code, signal) => { // "close" also follows a failed spawn; "exit" does not
      if (!hls.#closed) onExit(`ffmpeg exited (${signal ?? code ?? "?"}): ${stderr.split("\n").filter(Boolean).slice(-3).join(" | ")}`);
      hls.close();
    });
    return hls;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keyTimer);
    this.#keys.close();
    for (const l of this.#legs) l.transport.close();
    this.#ffmpeg.kill("SIGKILL");
  }

  /** Stops ffmpeg gracefully ("q": it finishes its files, the recording included); resolves when it exited. */
  async finish(timeoutMs = 30_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keyTimer);
    for (const l of this.#legs) l.transport.close();
    const exited = new Promise<void>((resolve) => this.#ffmpeg.once("exit", () => resolve()));
    this.#ffmpeg.stdin?.end("q");
    const timer = setTimeout(() => this.#ffmpeg.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
    this.#keys.close();
  }
}

/** The rotating keys of one live session: key n is written for ffmpeg to pick up, kept for players. */
class LiveKeys {
  readonly infoFile: string;
  readonly #dir: string;
  readonly #uri: (n: number) => string;
  readonly #keys = new Map<number, Buffer>();
  readonly #timer: NodeJS.Timeout;
  #n = 0;

  constructor(dir: string, uri: (n: number) => string) {
    this.#dir = dir;
    this.#uri = uri;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.infoFile = path.join(dir, "key.info");
    this.#rotate();
    this.#timer = setInterval(() => this.#rotate(), KEY_ROTATE_SEGMENTS * SEGMENT_SEC * 1000);
    this.#timer.unref();
  }

  get(n: number): Buffer | undefined {
    return this.#keys.get(n);
  }

  close(): void {
    clearInterval(this.#timer);
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #rotate(): void {
    const n = ++this.#n;
    const key = randomBytes(16);
    this.#keys.set(n, key);
    this.#keys.delete(n - KEYS_KEPT);
    const keyFile = path.join(this.#dir, `${n}.key`);
    writeFileSync(keyFile, key, { mode: 0o600 });
    // Written whole then renamed, so ffmpeg never reads half a file.
    writeFileSync(`${this.infoFile}.tmp`, `${this.#uri(n)}\n${keyFile}\n${randomBytes(16).toString("hex")}\n`, { mode: 0o600 });
    renameSync(`${this.infoFile}.tmp`, this.infoFile);
  }
}
