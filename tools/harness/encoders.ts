/**
 * Real encoders for tests and benches: ffmpeg publishing a test pattern (and a tone) over RTMP
 * (H.264 + AAC in FLV, as OBS does) or SRT (MPEG-TS), with any codec swapped to test refusals.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface Publisher {
  proc: ChildProcess;
  /** ffmpeg's stderr so far. */
  log(): string;
  /** Resolves with the exit code once ffmpeg exits. */
  exited: Promise<number | null>;
  stop(): void;
}

export interface PublishOptions {
  seconds?: number;
  size?: string;
  fps?: number;
  /** ffmpeg arguments for the audio codec (default AAC); [] for no audio. */
  audio?: string[];
  /** ffmpeg arguments for the video codec (default x264, zero latency, 1 s GOP). */
  video?: string[];
  /** Extra input before the output (a drawn clock for glass-to-glass). */
  filter?: string;
}

export function publishRtmp(url: string, o: PublishOptions = {}): Publisher {
  const fps = o.fps ?? 25;
  const video = o.video ?? ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", String(fps), "-pix_fmt", "yuv420p", "-b:v", "800k"];
  const audio = o.audio ?? ["-c:a", "aac", "-b:a", "96k"];
  const args = [
    "-hide_banner", "-loglevel", "warning", "-re",
    "-f", "lavfi", "-i", `testsrc2=size=${o.size ?? "640x360"}:rate=${String(fps)}${o.seconds ? `:duration=${String(o.seconds)}` : ""}`,
    ...(audio.length ? ["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000${o.seconds ? `:duration=${String(o.seconds)}` : ""}`] : []),
    ...(o.filter ? ["-vf", o.filter] : []),
    ...video, ...(audio.length ? audio : ["-an"]),
    "-f", url.startsWith("srt:") ? "mpegts" : "flv", url,
  ];
  const proc = spawn("ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-8000)));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, log: () => err, exited, stop: () => proc.kill("SIGKILL") };
}
