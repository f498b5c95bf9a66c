/**
 * An accepted RTMP publish, into the live pipeline: its FLV tags are checked (H.264 video,
 * AAC audio; anything else is refused with the reason) and written to a local ffmpeg, which
 * passes the H.264 through untouched and turns AAC into Opus, as RTP to two comedia
 * PlainTransports of the stream's origin router. From there it is a broadcaster like any other:
 * WebRTC viewers, relays, live HLS, recording, the media watchdog.
 *
 * Owner of: the ffmpeg process and the ingest peer (closed together, once).
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { h264Output, h264Parameters, opusOutput, opusParameters, type IngestOptions, type RtpLeg } from "./ingest-options.js";
import { flv, type FlvPacket, type IngestSink } from "./rtmp-server.js";

const FLV_AUDIO = 8;
const FLV_VIDEO = 9;
const AVC = 7;
const AAC = 10;
/** Packets (and bytes) kept before the codecs are known: a few seconds of a normal stream. */
const MAX_PENDING = 2000;
const MAX_PENDING_BYTES = 8 << 20;
/** An accepted publish must bring video within this long. */
const FIRST_VIDEO_MS = 10_000;
/** After the video sequence header, how long audio's may take to show up. */
const AUDIO_WAIT_MS = 1000;
const RATE_WINDOW_MS = 5000;

const AUDIO_NAMES: Record<number, string> = { 2: "MP3", 1: "ADPCM", 3: "PCM", 11: "Speex", 14: "MP3 8 kHz", 7: "G.711", 8: "G.711" };
const VIDEO_NAMES: Record<number, string> = { 2: "Sorenson H.263", 4: "VP6", 5: "VP6 alpha", 12: "HEVC", 0x68766331: "HEVC (enhanced RTMP)", 0x76703039: "VP9 (enhanced RTMP)", 0x61763031: "AV1 (enhanced RTMP)" };

export type FlvIngestOptions = IngestOptions;

/** What an ingest tells about itself (the studio shows it). */
export interface IngestStats {
  kind: "rtmp";
  videoKbps: number;
  fps: number;
  width: number;
  height: number;
  audio: boolean;
}

type Ffmpeg = ChildProcessByStdio<Writable, null, Readable>;

export class FlvIngest implements IngestSink {
  readonly #o: FlvIngestOptions;
  readonly #pending: FlvPacket[] = [];
  #avcConfig: Buffer | undefined;
  #audio = false;
  #videoHeaderAt = 0;
  #ffmpeg: Ffmpeg | undefined;
  #starting = false;
  #closed = false;
  #window = { start: Date.now(), bytes: 0, frames: 0 };
  #watch: NodeJS.Timeout | undefined;
  #pendingBytes = 0;
  readonly #firstVideo: NodeJS.Timeout;
  readonly stats: IngestStats = { kind: "rtmp", videoKbps: 0, fps: 0, width: 0, height: 0, audio: false };

  constructor(o: FlvIngestOptions) {
    this.#o = o;
    this.#firstVideo = setTimeout(() => {
      if (!this.#ffmpeg) this.#refuse(`no H.264 video within ${String(FIRST_VIDEO_MS / 1000)} s of the publish`);
    }, FIRST_VIDEO_MS);
    this.#firstVideo.unref();
  }

  packet(p: FlvPacket): void {
    if (this.#closed) return;
    if (p.codec_type === FLV_VIDEO && !this.#checkVideo(p)) return;
    if (p.codec_type === FLV_AUDIO && !this.#checkAudio(p)) return;
    if (p.codec_type !== FLV_VIDEO && p.codec_type !== FLV_AUDIO) return; // script data (onMetaData): not needed
    if (this.#ffmpeg) return this.#write(p);
    if (this.#pending.length >= MAX_PENDING || this.#pendingBytes > MAX_PENDING_BYTES) {
      this.#refuse("no H.264 sequence header in the first packets");
      return;
    }
    this.#pending.push(p);
    this.#pendingBytes += p.size;
    if (this.#avcConfig && !this.#starting && (this.#audio || Date.now() - this.#videoHeaderAt > AUDIO_WAIT_MS)) void this.#start();
  }

  close(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watch);
    clearTimeout(this.#firstVideo);
    this.#ffmpeg?.stdin.destroy();
    this.#ffmpeg?.kill("SIGKILL");
    this.#o.stream.leave(this.#o.peerId);
    this.#o.onClosed(why);
  }

  #checkVideo(p: FlvPacket): boolean {
    if (p.codec_id !== AVC) return this.#refuse(`${VIDEO_NAMES[p.codec_id] ?? `video codec ${String(p.codec_id)}`} is not supported: send H.264`);
    if (p.flags === 2) {
      const config = p.data.subarray(5, p.size); // AVCDecoderConfigurationRecord
      if (config.length < 4) return this.#refuse("malformed H.264 sequence header");
      // The profile (what viewers were offered) and the size cap were judged on the first one.
      if (this.#avcConfig && !config.equals(this.#avcConfig)) return this.#refuse("the video format changed mid-stream: publish again");
      if (!this.#avcConfig) {
        this.#avcConfig = config;
        this.#videoHeaderAt = Date.now();
      }
    }
    this.#count(p);
    return true;
  }

  #checkAudio(p: FlvPacket): boolean {
    if (p.codec_id !== AAC) return this.#refuse(`${AUDIO_NAMES[p.codec_id] ?? `audio codec ${String(p.codec_id)}`} audio is not supported: send AAC`);
    this.#window.bytes += p.size; // audio counts toward the bitrate cap too
    this.#audio = true;
    this.stats.audio = true;
    return true;
  }

  /** Video bitrate and frame rate over 5 s windows; past the cap the ingest is cut off. */
  #count(p: FlvPacket): void {
    const now = Date.now();
    this.#window.bytes += p.size;
    if (p.flags !== 2) this.#window.frames++;
    const span = now - this.#window.start;
    // The first figure after 1 s (the studio shows it), then every 5 s.
    if (span < (this.stats.fps === 0 ? 1000 : RATE_WINDOW_MS)) return;
    this.stats.videoKbps = Math.round((this.#window.bytes * 8) / span);
    this.stats.fps = Math.round((this.#window.frames * 1000) / span);
    this.#window = { start: now, bytes: 0, frames: 0 };
    if (this.stats.videoKbps > this.#o.maxKbps) this.#refuse(`video at ${String(this.stats.videoKbps)} kbit/s is above this server's ${String(this.#o.maxKbps)} kbit/s`);
  }

  #refuse(why: string): false {
    if (!this.#closed) this.#o.end(why);
    return false;
  }

  /** The producers first (the profile from the sequence header), then ffmpeg sending to them. */
  async #start(): Promise<void> {
    this.#starting = true;
    const { stream, peerId } = this.#o;
    try {
      const config = this.#avcConfig ?? Buffer.alloc(4);
      const profileLevelId = config.subarray(1, 4).toString("hex");
      const ssrc = { video: 0x10000000 + Math.floor(Math.random() * 0x0fffffff), audio: 0x20000000 + Math.floor(Math.random() * 0x0fffffff) };
      stream.joinIngest(peerId, this.#o.who);
      const video = await stream.produceRtp(peerId, "video", h264Parameters(profileLevelId, ssrc.video), "rtmp");
      const audio = this.#audio ? await stream.produceRtp(peerId, "audio", opusParameters(ssrc.audio), "rtmp") : undefined;
      if (this.#closed) return;
      this.#ffmpeg = this.#spawn(video, audio, ssrc);
      // The stream may drop its peer (the media watchdog found it silent: a stalled encoder; its
      // worker died): the RTMP session then ends too, and the encoder reconnects or stops.
      this.#watch = setInterval(() => {
        if (!this.#closed && stream.peer(peerId) === undefined) this.#refuse(stream.closed ? "the stream closed here: reconnect" : "no media came in (stalled)");
      }, 1000);
      this.#watch.unref();
      this.#o.onLive();
      this.#o.log(`rtmp ingest of ${stream.id}: H.264 ${profileLevelId}${audio ? " + AAC -> Opus" : ", no audio"}`);
      this.#ffmpeg.stdin.write(flv.createHeader(this.#audio, true));
      for (const p of this.#pending.splice(0)) this.#write(p);
    } catch (err) {
      this.#refuse(`could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #spawn(video: RtpLeg, audio: RtpLeg | undefined, ssrc: { video: number; audio: number }): Ffmpeg {
    const args = ["-hide_banner", "-nostats", "-loglevel", "info", "-fflags", "nobuffer", "-f", "flv", "-i", "pipe:0",
      // Copied as is; SPS/PPS go in-band before each key frame (FLV keeps them out of band).
      "-bsf:v", "h264_mp4toannexb", ...h264Output(video, ssrc.video)];
    if (audio) args.push(...opusOutput(audio, ssrc.audio));
    const ff = spawn("ffmpeg", args, { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    ff.stderr.on("data", (c: Buffer) => {
      err = (err + c.toString()).slice(-4000);
      this.#readSize(err);
    });
    ff.stdin.on("error", () => undefined); // ffmpeg gone: its exit says why
    ff.on("error", (e) => this.#refuse(`the transmuxer could not run: ${e.message}`)); // not spawned (ENOENT, EMFILE)
    ff.on("exit", (code) => {
      if (!this.#closed) this.#refuse(`the transmuxer stopped (${String(code)}): ${err.trim().split("\n").slice(-1)[0] ?? ""}`);
    });
    return ff;
  }

  /** Resolution from ffmpeg's own reading of the stream; taller than allowed is refused. */
  #readSize(log: string): void {
    if (this.stats.height) return;
    const m = /Video: h264[^\n]*?, (\d{2,5})x(\d{2,5})/.exec(log);
    if (!m) return;
    this.stats.width = Number(m[1]);
    this.stats.height = Number(m[2]);
    if (this.stats.height > this.#o.maxHeight) this.#refuse(`${String(this.stats.height)}p is above this server's ${String(this.#o.maxHeight)}p`);
  }

  #write(p: FlvPacket): void {
    const ff = this.#ffmpeg;
    if (!ff || ff.stdin.destroyed) return;
    // Backpressure: a transmuxer that cannot keep up is a stalled ingest (the watchdog ends it).
    if (ff.stdin.writableLength > 8 << 20) {
      this.#refuse("the transmuxer fell behind");
      return;
    }
    ff.stdin.write(flv.createMessage(p));
  }
}
