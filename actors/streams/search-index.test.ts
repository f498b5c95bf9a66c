import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SearchIndex, words, type SearchDoc } from "./search-index.js";

let clock = 1000;
function doc(id: string, over: Partial<SearchDoc> = {}): SearchDoc {
  clock++;
  return { id, title: "", description: "", ownerName: "someone", category: "general", language: "en", kind: "vod", createdAt: clock, updatedAt: clock, ...over };
}

function index(): SearchIndex {
  const ix = new SearchIndex();
  ix.upsert(doc("mc", { title: "Minecraft speedrun world record", ownerName: "dream", category: "gaming" }));
  ix.upsert(doc("jazz", { title: "Late night jazz piano", description: "Standards and a little Minecraft soundtrack", ownerName: "keys", category: "music", language: "fr" }));
  ix.upsert(doc("cook", { title: "Crêpes at home", ownerName: "chef", category: "cooking", kind: "live" }));
  ix.upsert(doc("mine", { title: "Mining documentary", ownerName: "geo", category: "science" }));
  return ix;
}

describe("catalog search index", () => {
  it("folds case and accents and splits on anything but letters and digits", () => {
    assert.deepEqual(words("Crêpes, À LA carte!  x264"), ["crepes", "a", "la", "carte", "x264"]);
  });

  it("ranks a title match above a description match, and matches prefixes", () => {
    const ix = index();
    assert.deepEqual(ix.search({ q: "minecraft" }).ids, ["mc", "jazz"]);
    assert.deepEqual(ix.search({ q: "mine" }).ids.slice(0, 2).sort(), ["mc", "mine"].sort());
    assert.deepEqual(ix.search({ q: "jaz pia" }).ids, ["jazz"]); // every word, each a prefix
    assert.deepEqual(ix.search({ q: "jazz gaming" }).ids, []); // all words must match
    assert.deepEqual(ix.search({ q: "dream" }).ids, ["mc"]); // the creator
    assert.deepEqual(ix.search({ q: "crepes" }).ids, ["cook"]); // accents folded
  });

  it("tolerates a typo in words of four letters or more, and two in long ones, never in short ones", () => {
    const ix = index();
    assert.deepEqual(ix.search({ q: "minecarft" }).ids[0], "mc"); // transposition = 2 edits, 9 letters
    assert.deepEqual(ix.search({ q: "mincraft" }).ids[0], "mc");
    assert.deepEqual(ix.search({ q: "pinao" }).ids, ["jazz"]); // 5 letters, two letters swapped
    assert.deepEqual(ix.search({ q: "piamo" }).ids, ["jazz"]); // one letter wrong
    assert.deepEqual(ix.search({ q: "jzz" }).ids, []); // 3 letters: exact or prefix only
    // The exact word outranks a typo of it.
    const ix2 = new SearchIndex();
    ix2.upsert(doc("a", { title: "piano" }));
    ix2.upsert(doc("b", { title: "pianos" }));
    ix2.upsert(doc("c", { title: "piani" }));
    assert.equal(ix2.search({ q: "piano" }).ids[0], "a");
  });

  it("filters by kind, category and language, counts categories before the category filter, pages", () => {
    const ix = index();
    assert.deepEqual(ix.search({ kind: "live" }).ids, ["cook"]);
    assert.deepEqual(ix.search({ language: "fr" }).ids, ["jazz"]);
    const all = ix.search({ q: "minecraft", category: "music" });
    assert.deepEqual(all.ids, ["jazz"]);
    assert.deepEqual(all.facets.category, { gaming: 1, music: 1 });
    const page = ix.search({ limit: 2, offset: 2 });
    assert.equal(page.total, 4);
    assert.equal(page.ids.length, 2);
    // Without words: live first, then newest first.
    assert.deepEqual(ix.search({}).ids, ["cook", "mine", "jazz", "mc"]);
  });

  it("follows changes: a renamed document is found by its new title only, a removed one not at all, an older version never wins", () => {
    const ix = index();
    const now = doc("mc", { title: "Redstone tutorial", category: "gaming" });
    ix.upsert(now);
    assert.deepEqual(ix.search({ q: "speedrun" }).ids, []);
    assert.deepEqual(ix.search({ q: "redstone" }).ids, ["mc"]);
    ix.upsert({ ...now, title: "stale", updatedAt: now.updatedAt - 1 });
    assert.deepEqual(ix.search({ q: "stale" }).ids, []);
    ix.remove("jazz");
    assert.deepEqual(ix.search({ q: "piano" }).ids, []);
    ix.retain(new Set(["mc"]));
    assert.equal(ix.size, 1);
    assert.deepEqual(ix.search({}).ids, ["mc"]);
  });

  it("stays correct through many rewrites (postings compacted) and answers a one-letter query with bounded work", () => {
    const ix = new SearchIndex();
    for (let round = 0; round < 20; round++) for (let i = 0; i < 200; i++) ix.upsert(doc(`d${String(i)}`, { title: `title ${String(i)} v${String(round)} alpha${String(i % 7)}` }));
    assert.equal(ix.size, 200);
    assert.equal(ix.search({ q: "v19" }).total, 200);
    assert.equal(ix.search({ q: "v3" }).total, 0); // earlier versions' words are gone
    // "alpha3" itself first (29 of i < 200 have i % 7 == 3), then its one-typo neighbours.
    const alpha = ix.search({ q: "alpha3", limit: 200 }).ids;
    assert.deepEqual(alpha.slice(0, 29).map((id) => Number(id.slice(1)) % 7), Array(29).fill(3));
    assert.ok(alpha.slice(29).every((id) => Number(id.slice(1)) % 7 !== 3));
    assert.equal(ix.search({ q: "a" }).total, 0, "one letter matches that word only, not every word it starts");
    assert.equal(ix.search({ q: "v" }).total, 0);
  });

  it("says when a query was too broad to count exactly, and still ranks the exact word first", () => {
    const ix = new SearchIndex();
    for (let i = 0; i < 400; i++) ix.upsert(doc(`w${String(i)}`, { title: `wo${String(i).padStart(3, "0")}x` }));
    ix.upsert(doc("exact", { title: "wo" }));
    const broad = ix.search({ q: "wo" });
    assert.equal(broad.approximate, true);
    assert.equal(broad.ids[0], "exact");
    assert.equal(ix.search({ q: "wo123x" }).approximate, undefined);
  });

  it("matches words outside the basic plane whole, exactly and as prefixes", () => {
    const ix = new SearchIndex();
    ix.upsert(doc("astral", { title: "𠀋𠀋𠀋 and 😀party" }));
    assert.deepEqual(ix.search({ q: "𠀋𠀋𠀋" }).ids, ["astral"]);
    assert.deepEqual(ix.search({ q: "𠀋𠀋" }).ids, ["astral"]);
    assert.deepEqual(words("x".repeat(40)).map((w) => w.length), [32]);
    assert.deepEqual(words("𠀋".repeat(40)).map((w) => Array.from(w).length), [32]);
  });
});
