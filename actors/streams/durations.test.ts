import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { DirBlobs } from "../../blobs/blobs-dir.js";
import { firstVariant, ladderSeconds, playlistSeconds } from "./durations.js";

const MASTER = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240\n240p/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1400000\n720p/index.m3u8\n";
const MEDIA = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000000,\nseg_00000.ts\n#EXTINF:2.000000,\nseg_00001.ts\n#EXTINF:1.500000,\nseg_00002.ts\n#EXT-X-ENDLIST\n";

describe("video lengths read back from the HLS ladder", () => {
  it("sums a media playlist's segment durations and finds the first variant, refusing paths that leave the folder", () => {
    assert.equal(playlistSeconds(MEDIA), 5.5);
    assert.equal(playlistSeconds("#EXTM3U\n"), 0);
    assert.equal(firstVariant(MASTER), "240p/index.m3u8");
    assert.equal(firstVariant("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n../other/index.m3u8\n"), undefined);
    assert.equal(firstVariant("#EXTM3U\n"), undefined);
  });

  it("reads a stored ladder's length from a real blob store; a missing ladder has none", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esh-dur-"));
    const blobs = new DirBlobs(dir);
    try {
      await blobs.put("vod/abc/master.m3u8", Buffer.from(MASTER));
      await blobs.put("vod/abc/240p/index.m3u8", Buffer.from(MEDIA));
      assert.equal(await ladderSeconds(blobs, "abc"), 5.5);
      assert.equal(await ladderSeconds(blobs, "nothing"), undefined);
    } finally {
      await blobs.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
