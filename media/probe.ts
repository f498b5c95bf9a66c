/**
 * Upload validation with ffprobe: what a file really is (never what its name or type header
 * claims). A file is accepted when its container, codecs, duration and resolution are in the
 * allow-lists below; anything else — corrupt, truncated, not media, hostile — is a
 * BAD_REQUEST naming the reason. ffprobe runs with an argument vector (no shell) on a path the
 * platform chose, with a timeout.
 */
import { execFile } from "node:child_process";
import { AppError } from "../lib/errors.js";

export interface MediaInfo {
  container: string;
  durationSec: number;
  video: { codec: string; width: number; height: number; fps: number };
  audio: { codec: string; channels: number; sampleRate: number } | undefined;
  bitRate: number;
}

export interface ProbeLimits {
  maxDurationSec: number;
  maxWidth: number;
  maxHeight: number;
}

const CONTAINERS = ["mov", "mp4", "m4a", "3gp", "matroska", "webm", "mpegts", "avi", "flv"];
const VIDEO_CODECS = ["h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video", "prores", "mjpeg"];
const AUDIO_CODECS = ["aac", "mp3", "opus", "vorbis", "ac3", "eac3", "flac", "pcm_s16le", "pcm_s24le", "alac"];
const PROBE_TIMEOUT_MS = 30_000;

interface RawStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  channels?: number;
  sample_rate?: string;
}

interface RawProbe {
  format?: { format_name?: string; duration?: string; bit_rate?: string };
  streams?: RawStream[];
}

function run(file: string): Promise<RawProbe> {
  return new Promise((resolve, reject) => {
    execFile("ffprobe", ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "--", file], { timeout: PROBE_TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      // ffprobe names the file (an absolute path below DATA_DIR) in its messages, and err.message
      // holds the whole command line: neither may reach the uploader, who sees only the reason.
      if (err) return reject(new AppError("BAD_REQUEST", `Not a readable media file: ${stripPaths(firstLine(stderr)) || (err.killed ? "ffprobe timed out" : "ffprobe could not read it")}`));
      try {
        resolve(JSON.parse(stdout) as RawProbe);
      } catch {
        reject(new AppError("BAD_REQUEST", "Not a readable media file: ffprobe could not describe it"));
      }
    });
  });
}

const firstLine = (s: string): string => s.split("\n").find((l) => l.trim())?.trim().slice(0, 200) ?? "";

/** A tool's message with every absolute path replaced by its last part (the file's name): where
 *  DATA_DIR is on the host is nobody's business. */
export function stripPaths(msg: string): string {
  return msg.replace(/(?:\/[^\s/:'"]+)+\/([^\s/:'"]+)/g, "$1");
}

function fps(rate: string | undefined): number {
  const [n, d] = (rate ?? "0/1").split("/").map(Number);
  return n && d ? n / d : 0;
}

/** Describes and checks a media file; throws BAD_REQUEST with the reason when it is not acceptable. */
export async function probeUpload(file: string, limits: ProbeLimits): Promise<MediaInfo> {
  const raw = await run(file);
  const formats = (raw.format?.format_name ?? "").split(",");
  const container = formats.find((f) => CONTAINERS.includes(f));
  if (!container) throw new AppError("BAD_REQUEST", `Unsupported container "${formats.join(",")}" (accepted: MP4/MOV, Matroska/WebM, MPEG-TS, AVI, FLV)`);
  const v = raw.streams?.find((s) => s.codec_type === "video" && s.codec_name !== "png" && s.codec_name !== "mjpeg");
  if (!v?.codec_name || !VIDEO_CODECS.includes(v.codec_name)) throw new AppError("BAD_REQUEST", v ? `Unsupported video codec "${v.codec_name ?? "?"}"` : "No video stream");
  const width = v.width ?? 0;
  const height = v.height ?? 0;
  if (width < 16 || height < 16) throw new AppError("BAD_REQUEST", `Implausible resolution ${width}x${height}`);
  if (width > limits.maxWidth || height > limits.maxHeight) throw new AppError("BAD_REQUEST", `Resolution ${width}x${height} is above the ${limits.maxWidth}x${limits.maxHeight} limit`);
  const durationSec = Number(raw.format?.duration ?? 0);
  if (!Number.isFinite(durationSec) || durationSec <= 0) throw new AppError("BAD_REQUEST", "The file has no duration (truncated or not a video)");
  if (durationSec > limits.maxDurationSec) throw new AppError("BAD_REQUEST", `Duration ${Math.round(durationSec)} s is above the ${limits.maxDurationSec} s limit`);
  const a = raw.streams?.find((s) => s.codec_type === "audio");
  if (a?.codec_name && !AUDIO_CODECS.includes(a.codec_name)) throw new AppError("BAD_REQUEST", `Unsupported audio codec "${a.codec_name}"`);
  return {
    container,
    durationSec,
    video: { codec: v.codec_name, width, height, fps: fps(v.avg_frame_rate) },
    audio: a?.codec_name ? { codec: a.codec_name, channels: a.channels ?? 0, sampleRate: Number(a.sample_rate ?? 0) } : undefined,
    bitRate: Number(raw.format?.bit_rate ?? 0),
  };
}
