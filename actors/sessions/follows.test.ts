import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStore } from "../../store/store-sqlite.js";
import { Follows } from "./follows.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-follows-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));
const follows = new Follows(store);
const cat = { id: "cat", name: "Cat" };

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("follows (real sqlite store)", () => {
  it("follows, counts once however often or concurrently asked, mutes, unfollows", async () => {
    await Promise.all([follows.follow("ann", cat), follows.follow("ann", cat), follows.follow("bob", cat)]);
    assert.equal(await follows.count("cat"), 2);
    assert.deepEqual((await follows.list("ann")).map((f) => [f.creatorId, f.muted]), [["cat", false]]);
    await follows.setMuted("bob", "cat", true);
    assert.deepEqual(await follows.toNotify("cat"), ["ann"]);
    await follows.follow("bob", cat); // following again keeps the mute
    assert.deepEqual(await follows.toNotify("cat"), ["ann"]);
    await follows.unfollow("ann", "cat");
    await follows.unfollow("ann", "cat");
    assert.equal(await follows.count("cat"), 1);
    assert.deepEqual(await follows.toNotify("cat"), []);
    await assert.rejects(follows.setMuted("ann", "cat", false), /do not follow/);
    await assert.rejects(follows.follow("cat", cat), /yourself/);
  });

  it("tells a creator's followers at most once per window, one node of many", async () => {
    const now = Date.now();
    const wins = await Promise.all([follows.mayTell("cat", now, 60_000), follows.mayTell("cat", now, 60_000), follows.mayTell("cat", now, 60_000)]);
    assert.equal(wins.filter(Boolean).length, 1);
    assert.equal(await follows.mayTell("cat", now + 30_000, 60_000), false);
    assert.equal(await follows.mayTell("cat", now + 61_000, 60_000), true);
  });
});
