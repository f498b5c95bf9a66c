import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsBlobs } from "../blobs/blobs-nats.js";
import { NatsServer } from "../tools/harness/nats.js";
import { waitFor } from "../tools/harness/ports.js";
import { LiveMirror } from "./live-mirror.js";

/** A real ffmpeg writing a live HLS rendition as the packaging does (1 s segments, sliding window, deleting old ones). */
function liveFfmpeg(dir: string): ChildProcess {
  mkdirSync(path.join(dir, "240p"), { recursive: true });
  return spawn("ffmpeg", ["-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "hls", "-hls_time", "1", "-hls_list_size", "4", "-hls_flags", "delete_segments",
    "-hls_segment_filename", path.join(dir, "240p", "seg_%05d.ts"), "-master_pl_name", "master.m3u8", "-var_stream_map", "v:0,name:240p", path.join(dir, "%v", "index.m3u8")], { stdio: "ignore" });
}

const segmentsOf = (playlist: string) => playlist.split("\n").filter((l) => /^s1_seg_\d+\.ts$/.test(l));

describe("LiveMirror: live HLS into the blob store (a real ffmpeg, a real nats-server)", () => {
  let nats: NatsServer;
  let blobs: NatsBlobs;
  let dir: string;
  let ffmpeg: ChildProcess;
  const logs: string[] = [];

  before(async () => {
    nats = await NatsServer.start();
    blobs = await NatsBlobs.open({ servers: nats.url, bucket: "mirror", replicas: 1, timeoutMs: 1000 });
    dir = mkdtempSync(path.join(os.tmpdir(), "esh-mirror-"));
    ffmpeg = liveFfmpeg(dir);
  });
  after(async () => {
    ffmpeg.kill("SIGKILL");
    await blobs.close();
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes segments before the playlist that names them, renamed per session; keeps them in memory while the store is away and catches up", async () => {
    const mirror = new LiveMirror({ blobs, dir, streamId: "st", session: "s1", bufferSegments: 30, log: (_l, m) => logs.push(m) });
    try {
      const first = await waitFor("a playlist in the store", async () => {
        const p = (await blobs.get("live/st/240p/index.m3u8"))?.body.toString();
        return p && segmentsOf(p).length >= 2 ? p : undefined;
      }, 20_000, 100);
      for (const s of segmentsOf(first)) assert.ok(await blobs.stat(`live/st/240p/${s}`), `${s} is there before the playlist names it`);
      assert.ok(await blobs.stat("live/st/master.m3u8"), "the master once its rendition is there");
      assert.doesNotMatch(first, /^seg_/m, "only renamed segments are named");

      await nats.stop(); // the store away for 4 s while ffmpeg goes on
      await new Promise((r) => setTimeout(r, 4000));
      await nats.restart();
      const caught = await waitFor("the playlist caught up", async () => {
        const p = (await blobs.get("live/st/240p/index.m3u8").catch(() => undefined))?.body.toString();
        return p && mirror.stats.segmentsWritten >= segmentsOf(first).length + 4 ? p : undefined;
      }, 30_000, 200);
      assert.equal(mirror.stats.segmentsDropped, 0);
      for (const s of segmentsOf(caught)) assert.ok(await blobs.stat(`live/st/240p/${s}`), `${s} (named after the outage) is there`);
      const seq = (p: string) => segmentsOf(p).map((s) => Number(/(\d+)\.ts$/.exec(s)?.[1]));
      assert.ok((seq(caught)[0] ?? 0) > (seq(first).at(-1) ?? 0), "the window moved on past the outage");
      assert.ok(logs.some((l) => /blob store is away/.test(l)) && logs.some((l) => /back; caught up/.test(l)), logs.join("\n"));
      // Segments written during the outage were kept: every number from before to after is in the store or was deleted behind the window.
      const written = mirror.stats.segmentsWritten;
      assert.ok(written >= (seq(caught).at(-1) ?? 0) - (seq(first)[0] ?? 0), `${String(written)} segments written: none lost to the outage`);
    } finally {
      mirror.close();
    }
  });
});
