/**
 * Captions of a video: WebVTT files a creator attaches, one per language, checked by a WebVTT
 * parser (webvtt-parser, the W3C validator's) and refused with the line that is wrong. Stored
 * beside the ladder (vod/<id>/subs/<lang>.vtt with a one-file subtitles playlist <lang>.m3u8),
 * and announced in the HLS master as the SUBTITLES group "subs", so any HLS player finds them.
 */
import { createRequire } from "node:module";
import { AppError } from "../../lib/errors.js";

export interface Caption {
  /** BCP 47 tag: "en", "pt-BR". */
  lang: string;
  /** What the captions menu shows: "English". */
  label: string;
}

export const CAPTION_LANG = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;
export const MAX_CAPTION_BYTES = 512 * 1024;
export const MAX_CAPTIONS = 8;
const GROUP = "subs";

interface VttError {
  message: string;
  line: number;
  col?: number;
}
// webvtt-parser is CommonJS without typings: its parse() answers {cues, errors}.
const { WebVTTParser } = createRequire(import.meta.url)("webvtt-parser") as { WebVTTParser: new () => { parse(text: string, mode: string): { cues: unknown[]; errors: VttError[] } } };

/** Checks a WebVTT file: BAD_REQUEST naming the first wrong line (and up to 10 problems in data). */
export function checkVtt(text: string): { cues: number } {
  if (Buffer.byteLength(text) > MAX_CAPTION_BYTES) throw new AppError("PAYLOAD_TOO_LARGE", `Captions are at most ${String(MAX_CAPTION_BYTES / 1024)} KB`);
  const tree = new WebVTTParser().parse(text.replace(/^\uFEFF/, ""), "subtitles");
  const errors = tree.errors.slice(0, 10).map((e) => ({ line: e.line, ...(e.col === undefined ? {} : { col: e.col }), message: e.message }));
  const first = errors[0];
  if (first) throw new AppError("BAD_REQUEST", `Not valid WebVTT: line ${String(first.line)}${first.col === undefined ? "" : `, column ${String(first.col)}`}: ${first.message}`, { errors });
  if (tree.cues.length === 0) throw new AppError("BAD_REQUEST", "The WebVTT file has no cues", { errors: [] });
  return { cues: tree.cues.length };
}

/** The subtitles playlist of one language: the whole file as one segment. */
export function subtitlesPlaylist(lang: string, durationSec: number): string {
  const d = Math.max(1, durationSec);
  return ["#EXTM3U", "#EXT-X-VERSION:3", `#EXT-X-TARGETDURATION:${String(Math.ceil(d))}`, "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", `#EXTINF:${d.toFixed(3)},`, `${lang}.vtt`, "#EXT-X-ENDLIST", ""].join("\n");
}

const quote = (s: string) => s.replace(/["\r\n]/g, "");

/** The master playlist with exactly these captions as its SUBTITLES group (none: no group). */
export function masterWithCaptions(master: string, captions: readonly Caption[]): string {
  const lines = master.split("\n").filter((l) => !(l.startsWith("#EXT-X-MEDIA:") && l.includes(`GROUP-ID="${GROUP}"`)));
  const out: string[] = [];
  for (const raw of lines) {
    let line = raw.replace(new RegExp(`,SUBTITLES="${GROUP}"`, "g"), "");
    if (line.startsWith("#EXT-X-STREAM-INF:") && captions.length > 0) line += `,SUBTITLES="${GROUP}"`;
    if (line.startsWith("#EXT-X-STREAM-INF:") && !out.some((l) => l.startsWith(`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="${GROUP}"`))) {
      captions.forEach((c, i) => out.push(`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="${GROUP}",NAME="${quote(c.label)}",LANGUAGE="${c.lang}",DEFAULT=NO,AUTOSELECT=${i === 0 ? "YES" : "NO"},URI="subs/${c.lang}.m3u8"`));
    }
    out.push(line);
  }
  return out.join("\n");
}

/** Where the ladder's MPEG-TS segments start (90 kHz): ffmpeg's HLS muxer begins at 1.4 s
 *  (captions.test.ts checks it with the same muxer; the real segments are encrypted). */
export const LADDER_FIRST_PTS = 126_000;

/** The VTT with an X-TIMESTAMP-MAP header tying its 00:00 to the video's first MPEG-TS
 *  timestamp (90 kHz): HLS players then place cues on the video's timeline (ffmpeg's segments
 *  start at 1.4 s, not 0). A map the file had is replaced; browsers' <track> ignore the header. */
export function withTimestampMap(vtt: string, mpegts: number): string {
  const text = vtt.replace(/^\uFEFF/, "");
  const lines = text.split(/\r?\n/);
  const header = lines[0] ?? "WEBVTT";
  const rest = lines.slice(1).filter((l, i) => !(i < 10 && l.startsWith("X-TIMESTAMP-MAP=")));
  return [header, `X-TIMESTAMP-MAP=MPEGTS:${String(Math.max(0, Math.round(mpegts)))},LOCAL:00:00:00.000`, ...rest].join("\n");
}
