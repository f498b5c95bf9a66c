/**
 * Card images for videos encoded before the encoder made them: a ready video with a poster and no
 * card.jpg gets one, scaled from its poster like a new upload's (media/ladder.ts), once, when an
 * encoders node starts. Idempotent: two nodes doing it write the same image.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { BlobStore } from "../../blobs/index.js";
import type { Store } from "../../store/index.js";
import { CARD_WIDTH } from "../../media/ladder.js";

const execFileAsync = promisify(execFile);

export async function backfillCards(store: Store, blobs: BlobStore, log: (m: string) => void): Promise<number> {
  let made = 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "esh-cards-"));
  try {
    for (const { value: s } of await store.list<{ id: string; kind: string; status: string }>("streams")) {
      if (s.kind !== "vod" || s.status !== "ready") continue;
      if (await blobs.stat(`vod/${s.id}/card.jpg`)) continue;
      const poster = await blobs.get(`vod/${s.id}/poster.jpg`);
      if (!poster) continue;
      const [from, to] = [path.join(dir, "poster.jpg"), path.join(dir, "card.jpg")];
      writeFileSync(from, poster.body);
      await execFileAsync("ffmpeg", ["-v", "error", "-y", "-i", from, "-frames:v", "1", "-vf", `scale=${String(CARD_WIDTH)}:-2`, "-q:v", "4", to], { timeout: 30_000 });
      await blobs.put(`vod/${s.id}/card.jpg`, readFileSync(to));
      made++;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (made > 0) log(`encoders: made ${String(made)} card image(s) for videos encoded before cards`);
  return made;
}
