import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { DirBlobs } from "../../blobs/blobs-dir.js";
import { SqliteStore } from "../../store/store-sqlite.js";
import { backfillCards } from "./card-backfill.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-card-backfill-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));
const blobs = new DirBlobs(path.join(dir, "blobs"));

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("card images for older videos (real ffmpeg)", () => {
  it("makes a 320 px card from the poster of a ready video that lacks one, and only those", async () => {
    const poster = path.join(dir, "p.jpg");
    execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=1280x720", "-frames:v", "1", poster]);
    for (const [id, status] of [["old", "ready"], ["new", "ready"], ["busy", "processing"]] as const) {
      await store.put("streams", id, { id, kind: "vod", status });
      await blobs.put(`vod/${id}/poster.jpg`, readFileSync(poster));
    }
    await blobs.put("vod/new/card.jpg", Buffer.from("already there"));
    assert.equal(await backfillCards(store, blobs, () => undefined), 1);
    const card = await blobs.get("vod/old/card.jpg");
    assert.ok(card);
    const probe = execFileSync("ffprobe", ["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", "-"], { input: card.body }).toString().trim();
    assert.equal(probe, "320,180");
    assert.equal((await blobs.get("vod/new/card.jpg"))?.body.toString(), "already there");
    assert.equal(await blobs.stat("vod/busy/card.jpg"), undefined);
    assert.equal(await backfillCards(store, blobs, () => undefined), 0, "once made, not again");
  });
});
