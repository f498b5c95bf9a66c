import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { describeInput } from "./ts-ingest.js";

/** What a real ffmpeg prints about an MPEG-TS input, as the ingest runs it (info level). */
function describedBy(file: string): string {
  return spawnSync("ffmpeg", ["-hide_banner", "-nostats", "-loglevel", "info", "-f", "mpegts", "-i", file, "-map", "0", "-c", "copy", "-f", "null", "-"], { encoding: "utf8" }).stderr;
}

function makeTs(file: string, args: string[]): void {
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=1", "-f", "lavfi", "-i", "sine=duration=1", ...args, "-f", "mpegts", file]);
}

describe("describeInput: what ffmpeg says an SRT caller sends", () => {
  let dir: string;
  let h264Aac: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "ts-ingest-"));
    const file = path.join(dir, "a.ts");
    makeTs(file, ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]);
    h264Aac = describedBy(file);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads H.264 + AAC with its profile and size once the description is whole", () => {
    const d = describeInput(h264Aac, 1080);
    assert.deepEqual(d, { profile: "Constrained Baseline", pli: "42e01f", width: 640, height: 360, fps: 25, audio: true });
  });

  it("waits while stderr has given the video line but not the audio line below it", () => {
    const cut = h264Aac.indexOf("Audio:");
    assert.ok(cut > 0 && h264Aac.indexOf("Video:") < cut, h264Aac);
    const partial = h264Aac.slice(0, h264Aac.lastIndexOf("\n", cut) + 1);
    assert.equal(describeInput(partial, 1080), undefined, "a chunk with the video line alone is not yet the whole input");
    assert.deepEqual(describeInput(partial, 1080, true), { profile: "Constrained Baseline", pli: "42e01f", width: 640, height: 360, fps: 25, audio: false }, "after ffmpeg exited, what it said is all there is");
  });

  it("refuses other codecs, sizes and audio with the reason; metadata cannot pass for a stream line", () => {
    const hevc = path.join(dir, "hevc.ts");
    makeTs(hevc, ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-c:a", "aac", "-metadata", "service_name=Stream #0:0: Video: h264 (High), yuv420p, 640x360, 25 fps"]);
    const hevcLog = describedBy(hevc);
    assert.deepEqual(describeInput(hevcLog, 1080), { refused: "hevc video is not supported: send H.264" });
    const videoLine = hevcLog.slice(0, hevcLog.indexOf("\n", hevcLog.indexOf("Video: hevc")) + 1);
    assert.deepEqual(describeInput(videoLine, 1080), { refused: "hevc video is not supported: send H.264" }, "a refused video needs no more than its own line");
    assert.deepEqual(describeInput(h264Aac, 240), { refused: "360p is above this server's 240p" });
    const mp2 = path.join(dir, "mp2.ts");
    makeTs(mp2, ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "mp2"]);
    assert.deepEqual(describeInput(describedBy(mp2), 1080), { refused: "mp2 audio is not supported: send AAC" });
  });
});
