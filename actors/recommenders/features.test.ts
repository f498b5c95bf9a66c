import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { clientBatch, deviceFrom } from "../../analytics/events.js";
import { ChdbStore } from "../../analytics/store-chdb.js";
import { confidence, readFeatures, readResume } from "./features.js";

const NOW = Date.now();
let dir: string;
let store: ChdbStore;

function batch(user: string, session: string, serverMs: number, events: Record<string, unknown>[]): Buffer {
  const stamp = { userId: user, sessionId: session, node: "t", serverMs, device: deviceFrom("Chrome/130") };
  return clientBatch(events.map((e, i) => ({ id: `${user}-${session}-${serverMs}-${i}`, ts: serverMs, ...e })), stamp).batch.lines;
}

describe("recommender features from a small event set (chdb)", () => {
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "esh-feat-"));
    store = new ChdbStore(dir);
    await store.migrate();
    const lines = Buffer.concat([
      // alice: two views of s1 (60 s + 30 s watched, a chat and 3 reactions), one short view of s2
      batch("alice", "a1", NOW - 600_000, [
        { type: "view.start", stream: "s1", view: "av1" },
        { type: "heartbeat", stream: "s1", view: "av1", watched: 60_000, position: 60_000, duration: 600_000 },
        { type: "chat", stream: "s1" },
        { type: "reaction", stream: "s1", value: 3 },
      ]),
      batch("alice", "a1", NOW - 300_000, [
        { type: "view.start", stream: "s1", view: "av2" },
        { type: "view.end", stream: "s1", view: "av2", watched: 30_000, position: 150_000, duration: 600_000 },
        { type: "view.start", stream: "s2", view: "av3" },
        { type: "view.end", stream: "s2", view: "av3", watched: 5_000 },
        { type: "hide", stream: "s2" },
      ]),
      // bob: one view of s2, in a session of 20 minutes; an old event outside the window
      batch("bob", "b1", NOW - 1_200_000, [{ type: "view.start", stream: "s2", view: "bv1" }]),
      batch("bob", "b1", NOW, [{ type: "heartbeat", stream: "s2", view: "bv1", watched: 120_000 }, { type: "vote", stream: "s2" }]),
      batch("bob", "old", NOW - 40 * 86_400_000, [{ type: "heartbeat", stream: "s3", view: "bv0", watched: 999_000 }]),
      // 40 users who never watched s3 say "not interested" to it, and carol to s1: none is a viewer
      ...Array.from({ length: 40 }, (_, i) => batch(`hider${String(i)}`, `h${String(i)}`, NOW - 50_000, [{ type: "hide", stream: "s3" }])),
      batch("carol", "c1", NOW - 100_000, [{ type: "hide", stream: "s1" }, { type: "reaction", stream: "s1", value: 1 }]),
      // dave's player claims s1 is 60 s long and that he reached its end; the catalog says 600 s
      batch("dave", "d1", NOW - 90_000, [{ type: "view.start", stream: "s1", view: "dv1" }, { type: "view.end", stream: "s1", view: "dv1", watched: 60_000, position: 60_000, duration: 60_000 }]),
      // erin watched 30 s of s1 and her player reports a playhead at its very end
      // frank watched s4 to 5:00, then went back to 0:20 and left (a chat after says nothing of the playhead)
      batch("frank", "f1", NOW - 70_000, [{ type: "view.start", stream: "s4", view: "fv1" }, { type: "heartbeat", stream: "s4", view: "fv1", watched: 300_000, position: 300_000 }]),
      batch("frank", "f1", NOW - 60_000, [{ type: "seek", stream: "s4", view: "fv1", position: 20_000 }, { type: "pause", stream: "s4", view: "fv1", position: 21_000, ts: NOW - 59_999 }]),
      batch("frank", "f1", NOW - 50_000, [{ type: "chat", stream: "s4" }]),
      batch("erin", "e1", NOW - 80_000, [{ type: "view.start", stream: "s1", view: "ev1" }, { type: "heartbeat", stream: "s1", view: "ev1", watched: 30_000, position: 600_000, duration: 600_000 }]),
    ]);
    await store.insert("events", lines);
  });

  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("knows where a user left off: the playhead of their latest report, not the furthest", async () => {
    assert.deepEqual(await readResume(store, NOW + 1000, 30, "frank", "s4"), { positionMs: 21_000, at: NOW - 60_000 });
    assert.equal(await readResume(store, NOW + 1000, 30, "frank", "s1"), undefined);
    assert.equal((await readFeatures(store, NOW + 1000, 30, "frank")).pairs.find((p) => p.stream === "s4")?.lastPositionMs, 21_000);
    await assert.rejects(readResume(store, NOW, 30, "frank' OR 1=1 --", "s4"), /bad id/);
  });

  it("sums watch time, completion, views and interactions per user and stream, sessions and popularity", async () => {
    const f = await readFeatures(store, NOW + 1000, 30, undefined, new Map([["s1", 600]]));
    const pair = (u: string, s: string) => f.pairs.find((p) => p.user === u && p.stream === s);
    assert.deepEqual({ ...pair("alice", "s1"), lastMs: 0 }, { user: "alice", stream: "s1", watchedMs: 90_000, views: 2, interactions: 2, lastMs: 0, furthestMs: 150_000, lastPositionMs: 150_000, completion: 0.15, hidden: false });
    assert.equal(pair("alice", "s1")?.lastMs, NOW - 300_000);
    assert.deepEqual({ ...pair("alice", "s2"), lastMs: 0 }, { user: "alice", stream: "s2", watchedMs: 5_000, views: 1, interactions: 0, lastMs: 0, furthestMs: 0, lastPositionMs: 0, completion: 0, hidden: true });
    assert.deepEqual({ ...pair("bob", "s2"), lastMs: 0 }, { user: "bob", stream: "s2", watchedMs: 120_000, views: 1, interactions: 1, lastMs: 0, furthestMs: 0, lastPositionMs: 0, completion: 0, hidden: false });
    assert.equal(pair("bob", "s3"), undefined, "events older than the window are left out");
    assert.equal(pair("carol", "s1")?.hidden, true);
    // Completion is measured against the catalog's length, not the length a player reports (a
    // reported hole: a client could make any video count as watched to the end).
    assert.equal(pair("dave", "s1")?.completion, 0.1);
    assert.equal(pair("erin", "s1")?.completion, 0.05, "a playhead at the end after 30 s watched is 30 s of 600");
    const noLength = await readFeatures(store, NOW + 1000, 30, "alice");
    assert.equal(noLength.pairs.find((p) => p.stream === "s1")?.completion, 0, "no length in the catalog: no completion, whatever the player says");
    assert.equal(f.pairs.filter((p) => !p.user.startsWith("hider")).length, 7);
    assert.equal(f.sessionMs.get("alice"), 300_000);
    assert.equal(f.sessionMs.get("bob"), 1_200_000);
    // Popularity counts viewers only: 40 hides of s3 and carol's hide and reaction on s1 add nothing
    // (a reported hole: 40 hides lifted an item with 2 real viewers from rank 90 to 6).
    assert.deepEqual(Object.fromEntries(f.popularity), { s1: 3, s2: 2, s4: 1 });
    const one = await readFeatures(store, NOW + 1000, 30, "bob");
    assert.deepEqual(one.pairs.map((p) => p.stream), ["s2"]);
  });

  it("confidence grows with watch time and interaction, and fades with age", () => {
    const base = { user: "u", stream: "s", watchedMs: 600_000, views: 1, interactions: 0, lastMs: NOW, furthestMs: 0, lastPositionMs: 0, completion: 0, hidden: false };
    const c = confidence(base, 1_800_000, NOW);
    assert.ok(confidence({ ...base, completion: 1 }, 1_800_000, NOW) > c, "watched to the end counts more");
    assert.ok(confidence({ ...base, watchedMs: 1_200_000 }, 1_800_000, NOW) > c);
    assert.ok(confidence({ ...base, interactions: 5 }, 1_800_000, NOW) > c);
    assert.ok(Math.abs(confidence({ ...base, lastMs: NOW - 14 * 86_400_000 }, 1_800_000, NOW) - c / 2) < 1e-9);
  });
});
