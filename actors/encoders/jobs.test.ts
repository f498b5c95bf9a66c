/**
 * The encode queue's order, on the real sqlite store: fair across creators (the creator with the
 * fewest jobs running goes first), oldest first among equals; and the per-creator pending count.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStore } from "../../store/store-sqlite.js";
import { JobQueue } from "./jobs.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-jobs-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("JobQueue", () => {
  it("one creator's backlog does not hold back another creator's upload", async () => {
    const q = new JobQueue(store, "enc-1", 60_000);
    for (let i = 0; i < 5; i++) {
      await q.enqueue({ streamId: `hog-${i}`, ownerId: "hog", sourceBytes: 1000 });
      await new Promise((r) => setTimeout(r, 2)); // distinct createdAt
    }
    await q.enqueue({ streamId: "small-0", ownerId: "small", sourceBytes: 1000 });
    const first = await q.claim();
    assert.equal(first?.ownerId, "hog", "nobody runs anything: the oldest job goes first");
    const second = await q.claim();
    assert.equal(second?.streamId, "small-0", "the hog has one running: the other creator's job goes next, though newer");
    const third = await q.claim();
    assert.equal(third?.streamId, "hog-1", "then the hog's next-oldest");
    assert.equal(await q.pendingOf("hog"), 5);
    assert.equal(await q.pendingOf("small"), 1);
    assert.ok(await q.finish(second.id, "done"));
    assert.equal(await q.pendingOf("small"), 0);
  });
});
