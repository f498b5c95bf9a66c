/**
 * An accepted SRT caller, into the live pipeline: its MPEG-TS (relayed by the SRT helper to a
 * loopback UDP port) is read by a local ffmpeg, which passes H.264 through untouched and turns
 * AAC into Opus, as RTP to comedia PlainTransports of the stream's origin router. The codecs are
 * what ffmpeg reads in the stream: anything but H.264 (Constrained Baseline, Main, High) and AAC
 * is refused with the reason.
 *
 * Owner of: the ffmpeg process and the ingest peer (closed together, once).
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { h264Output, h264Parameters, opusOutput, opusParameters, type IngestOptions } from "./ingest-options.js";
import type { TsSink } from "./srt-server.js";

const SSRC = { video: 287454020, audio: 572662306 };
const FIRST_VIDEO_MS = 10_000;
/** The profiles a router speaks (media/codecs.ts), by the name ffmpeg prints. */
const PROFILES: Record<string, string> = { "Constrained Baseline": "42e01f", Baseline: "42e01f", Main: "4d001f", High: "640028" };

export interface TsIngestStats {
  kind: "srt";
  videoKbps: number;
  fps: number;
  width: number;
  height: number;
  audio: boolean;
}

export interface TsIngestOptions extends IngestOptions {
  /** Where the SRT helper relays the caller's MPEG-TS. */
  udpPort: number;
}

type Ffmpeg = ChildProcessByStdio<null, null, Readable>;
interface Leg { transportId: string; port: number; rtcpPort: number }

export class TsIngest implements TsSink {
  readonly #o: TsIngestOptions;
  readonly stats: TsIngestStats = { kind: "srt", videoKbps: 0, fps: 0, width: 0, height: 0, audio: false };
  #ffmpeg: Ffmpeg | undefined;
  #legs: { video: Leg; audio: Leg } | undefined;
  #producing = false;
  #closed = false;
  #timers: NodeJS.Timeout[] = [];
  #lastBytes: { at: number; bytes: number } | undefined;

  constructor(o: TsIngestOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    const { stream, peerId } = this.#o;
    stream.joinIngest(peerId, this.#o.who);
    this.#legs = { video: await stream.ingestLeg(peerId), audio: await stream.ingestLeg(peerId) };
    if (this.#closed) return;
    this.#spawn(true);
    const first = setTimeout(() => {
      if (!this.#producing) this.#refuse(`no H.264 video within ${String(FIRST_VIDEO_MS / 1000)} s`);
    }, FIRST_VIDEO_MS);
    const watch = setInterval(() => void this.#watch(), 1000);
    for (const t of [first, watch]) t.unref();
    this.#timers.push(first, watch);
  }

  close(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#ffmpeg?.kill("SIGKILL");
    this.#o.stream.leave(this.#o.peerId);
    this.#o.onClosed(why);
  }

  #refuse(why: string): void {
    if (!this.#closed) this.#o.end(why);
  }

  #spawn(withAudio: boolean): void {
    const legs = this.#legs;
    if (!legs) return;
    const args = ["-hide_banner", "-nostats", "-loglevel", "info", "-fflags", "nobuffer",
      // One second of probing (ffmpeg's default is five): the show starts 4 s sooner.
      "-analyzeduration", "1000000", "-probesize", "1000000", "-f", "mpegts",
      // Bound to loopback (localaddr): nothing but the SRT helper on this host can send to it.
      "-i", `udp://127.0.0.1:${String(this.#o.udpPort)}?localaddr=127.0.0.1&fifo_size=1000000&overrun_nonfatal=1`,
      ...h264Output(legs.video, SSRC.video)];
    if (withAudio) args.push(...opusOutput(legs.audio, SSRC.audio));
    const ff = spawn("ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
    this.#ffmpeg = ff;
    let log = "";
    ff.stderr.on("data", (c: Buffer) => {
      log = (log + c.toString()).slice(-6000);
      void this.#read(log);
    });
    ff.on("error", (e) => this.#refuse(`the transmuxer could not run: ${e.message}`));
    ff.on("close", (code) => {
      if (this.#closed || this.#ffmpeg !== ff) return;
      // A stream without audio: the audio output has nothing to carry; again with video only.
      if (withAudio && /does not contain any stream|matches no streams/.test(log)) return this.#spawn(false);
      const found = describeInput(log, this.#o.maxHeight, true); // a refused codec is the better reason than the exit
      if (found && "refused" in found) return this.#refuse(found.refused);
      this.#refuse(`the transmuxer stopped (${String(code)}): ${log.trim().split("\n").slice(-1)[0] ?? ""}`);
    });
  }

  /** ffmpeg described its input: refuse what we cannot carry, else start the producers. */
  async #read(log: string): Promise<void> {
    if (this.#producing || this.#closed) return;
    const found = describeInput(log, this.#o.maxHeight);
    if (!found) return;
    if ("refused" in found) return this.#refuse(found.refused);
    this.#producing = true;
    Object.assign(this.stats, { width: found.width, height: found.height, fps: found.fps, audio: found.audio });
    const { stream, peerId } = this.#o;
    const legs = this.#legs;
    if (!legs) return;
    try {
      await stream.produceOnLeg(peerId, legs.video.transportId, "video", h264Parameters(found.pli, SSRC.video), "srt");
      if (found.audio) await stream.produceOnLeg(peerId, legs.audio.transportId, "audio", opusParameters(SSRC.audio), "srt");
      this.#o.log(`srt ingest of ${stream.id}: H.264 ${found.profile} ${String(found.width)}x${String(found.height)}${found.audio ? " + AAC -> Opus" : ", no audio"}`);
      this.#o.onLive();
    } catch (err) {
      this.#refuse(`could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Bitrate from what the producers received; the peer dropped (stalled, stream closed) ends it. */
  async #watch(): Promise<void> {
    const peer = this.#o.stream.peer(this.#o.peerId);
    if (!peer) return this.#refuse(this.#o.stream.closed ? "the stream closed here: reconnect" : "no media came in (stalled)");
    if (!this.#producing) return;
    const bytes = await peer.receivedBytes();
    const now = Date.now();
    if (bytes !== undefined && this.#lastBytes) this.stats.videoKbps = Math.round(((bytes - this.#lastBytes.bytes) * 8) / (now - this.#lastBytes.at));
    if (bytes !== undefined) this.#lastBytes = { at: now, bytes };
    if (this.stats.videoKbps > this.#o.maxKbps) this.#refuse(`${String(this.stats.videoKbps)} kbit/s is above this server's ${String(this.#o.maxKbps)} kbit/s`);
  }
}

/** What an MPEG-TS carries, as ffmpeg's stderr describes its input. */
export type InputDescription =
  | { refused: string }
  | { profile: string; pli: string; width: number; height: number; fps: number; audio: boolean };

/**
 * Reads ffmpeg's description of its input. A refused video is refused from its own line; the
 * rest waits until the description is whole (stderr arrives in chunks: the video line can come
 * without the audio line below it): ffmpeg went on to its output, or it `exited`.
 * Only ffmpeg's own stream lines count (indented, at a line's start): metadata a sender controls
 * (a service name) is printed after a "key : " prefix and cannot pass for one.
 * undefined = not yet.
 */
export function describeInput(log: string, maxHeight: number, exited = false): InputDescription | undefined {
  const whole = exited || /^(?:Output #0|Stream mapping:)/m.test(log);
  const video = /^ {2,}Stream #0:\d+(?:\[0x[0-9a-f]+\])?(?:\(\w+\))?: Video: (\w+)(?: \(([^)\n]+)\))?[^\n]*?, (\d{2,5})x(\d{2,5})(?:[^\n]*?, ([\d.]+) fps)?/m.exec(log);
  if (!video) return undefined;
  const [, codec = "", profile = "", w = "0", h = "0", fps = "0"] = video;
  if (codec !== "h264") return { refused: `${codec} video is not supported: send H.264` };
  const pli = PROFILES[profile];
  if (!pli) return { refused: `H.264 ${profile || "(unknown profile)"} is not supported: send Baseline, Main or High` };
  if (Number(h) > maxHeight) return { refused: `${h}p is above this server's ${String(maxHeight)}p` };
  if (!whole) return undefined; // the video is fine; the audio line may be in the next chunk
  const audio = /^ {2,}Stream #0:\d+(?:\[0x[0-9a-f]+\])?(?:\(\w+\))?: Audio: (\w+)/m.exec(log)?.[1];
  if (audio !== undefined && audio !== "aac") return { refused: `${audio} audio is not supported: send AAC` };
  return { profile, pli, width: Number(w), height: Number(h), fps: Math.round(Number(fps)), audio: audio !== undefined };
}
