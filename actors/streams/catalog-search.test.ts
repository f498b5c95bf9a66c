import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CatalogSearch, type Stream } from "./catalog-search.js";

const s = (over: Partial<Stream> = {}): Stream => ({ id: "s1", ownerId: "o", title: "Secret diary", description: "", ownerName: "ann", kind: "vod", status: "ready", createdAt: 1, updatedAt: 1, visibility: "public", ...over });
const found = (c: CatalogSearch<Stream>) => c.search({ q: "diary" }).items.map((x) => x.id);

describe("catalog search over store revisions", () => {
  it("a late or replayed older write never brings back what a newer one took out (a leak: a private video back in public search)", () => {
    const c = new CatalogSearch<Stream>();
    c.apply(s(), 1);
    c.apply(s({ visibility: "private", updatedAt: 2 }), 2);
    assert.deepEqual(found(c), []);
    c.apply(s(), 1); // the public version again, arriving late from another node
    assert.deepEqual(found(c), []);
    c.rebuild([{ value: s(), revision: 1 }], Date.now()); // a rebuild that read the store before the change
    assert.deepEqual(found(c), []);
    c.apply(s({ visibility: "public", updatedAt: 0 }), 3); // a newer write wins, whatever its clock says
    assert.deepEqual(found(c), ["s1"]);
  });

  it("a deleted stream stays deleted; a rebuild drops what the store no longer has, not what was created while it read", () => {
    const c = new CatalogSearch<Stream>();
    c.apply(s(), 1);
    c.drop("s1");
    c.apply(s(), 5);
    assert.deepEqual(found(c), []);
    const readAt = Date.now() - 1;
    c.apply(s({ id: "s2" }), 1); // created after the read began
    c.apply(s({ id: "s3" }), 1);
    c.rebuild([{ value: s({ id: "s2" }), revision: 1 }], readAt + 1_000_000); // a later read without s3
    assert.deepEqual(found(c), ["s2"]);
    c.apply(s({ id: "s4" }), 1);
    c.rebuild([], readAt); // a read that began before s4 was applied
    assert.ok(found(c).includes("s4"));
  });
});
