import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Pair } from "./features.js";
import { continueWatching, forYouWhy, fromFollowed, names, resumeAt, type Entry } from "./rows.js";
import { blend, contentScore, profile } from "./content.js";

const pair = (stream: string, lastPositionMs: number, lastMs: number): Pair => ({ user: "u", stream, watchedMs: lastPositionMs, views: 1, interactions: 0, lastMs, furthestMs: lastPositionMs, lastPositionMs, completion: 0, hidden: false });
const vod = (id: string, over: Partial<Entry> = {}): Entry => ({ id, title: id, kind: "vod", status: "ready", ownerId: "c1", durationSec: 600, ...over });

describe("home rows around the model", () => {
  it("resumes a started, unfinished video where it was left; not before 10 s, not in its last 30 s or 5%", () => {
    assert.equal(resumeAt(5_000, 600), undefined);
    assert.equal(resumeAt(120_000, 600), 120_000);
    assert.equal(resumeAt(575_000, 600), undefined);
    assert.equal(resumeAt(60_000, 62), undefined); // within the last 30 s
    assert.equal(resumeAt(60_000, undefined), undefined); // no length: cannot tell finished
  });

  it("Continue watching: part-watched ready videos, newest first; finished, hidden, live and gone ones drop off", () => {
    const byId = new Map([vod("a"), vod("b"), vod("done"), vod("hid"), vod("proc", { status: "processing" }), vod("live", { kind: "live", status: "live" })].map((e) => [e.id, e]));
    const rows = continueWatching([pair("a", 60_000, 1), pair("b", 90_000, 2), pair("done", 599_000, 3), pair("hid", 50_000, 4), pair("proc", 50_000, 5), pair("live", 50_000, 6), pair("gone", 50_000, 7)], byId, new Set(["hid"]));
    assert.deepEqual(rows.map((r) => [r.entry.id, r.resumeMs]), [["b", 90_000], ["a", 60_000]]);
  });

  it("Following: followed creators' live shows first, then their newest videos; nobody else's", () => {
    const catalog = [vod("old", { createdAt: 1 }), vod("new", { createdAt: 2 }), vod("show", { kind: "live", status: "live", createdAt: 0 }), vod("other", { ownerId: "c2", createdAt: 9 }), vod("ended", { kind: "live", status: "ended" })];
    assert.deepEqual(fromFollowed([{ creatorId: "c1", creatorName: "Cat" }], catalog, new Set(["old"])).map((e) => e.id), ["show", "new"]);
  });

  it("explains rows in words", () => {
    assert.equal(names(["A"]), "A");
    assert.equal(names(["A", "B"]), "A and B");
    assert.equal(names(["A", "B", "C", "D"]), "A, B and 2 more");
    assert.equal(forYouWhy(["Jazz night"], []), "Because you watched Jazz night");
    assert.equal(forYouWhy(["Jazz night", "Chess"], ["Cat"]), "Because you watched Jazz night and Chess, and follow Cat");
  });

  it("content features re-rank the model's candidates toward the user's categories, creators and follows", () => {
    const p = profile([[{ category: "music", creator: "c1", language: "fr", live: false }, 3], [{ category: "chess", creator: "c2", language: "en", live: false }, 1]], new Set(["c9"]));
    assert.equal(p.category.get("music"), 0.75);
    const music = { category: "music", creator: "c3", language: "en", live: false };
    const cooking = { category: "cooking", creator: "c3", language: "en", live: false };
    const followed = { category: "cooking", creator: "c9", language: "en", live: false };
    assert.ok(contentScore(p, music) > contentScore(p, cooking));
    assert.ok(contentScore(p, followed) > contentScore(p, cooking));
    // Equal model scores: content decides; a much higher model score still wins.
    const ranked = blend([{ id: "cook", score: 1 }, { id: "music", score: 1 }], (c) => contentScore(p, c.id === "music" ? music : cooking));
    assert.deepEqual(ranked.map((r) => r.id), ["music", "cook"]);
    const strong = blend([{ id: "cook", score: 10 }, { id: "music", score: 1 }, { id: "x", score: 1 }, { id: "y", score: 1 }], (c) => contentScore(p, c.id === "music" ? music : cooking));
    assert.equal(strong[0]?.id, "cook");
  });
});
