/**
 * The shared lookup cache (gateway media access, rooms' access records): one load per key at a
 * time, kept for its TTL, and a load begun before a forget() neither shared nor kept.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TtlCache } from "./ttl-cache.js";

const later = <T>(v: T, ms = 20) => new Promise<T>((r) => setTimeout(() => r(v), ms));

describe("TtlCache", () => {
  it("shares one load among concurrent callers and keeps its value for the TTL", async () => {
    const c = new TtlCache<string>(60, 10);
    let loads = 0;
    const load = () => (loads++, later(`v${String(loads)}`));
    assert.deepEqual(await Promise.all([c.get("k", load), c.get("k", load), c.get("k", load)]), ["v1", "v1", "v1"]);
    assert.equal(await c.get("k", load), "v1", "fresh: no load");
    await later(null, 80);
    assert.equal(await c.get("k", load), "v2", "expired: loaded again");
    assert.equal(loads, 2);
  });

  it("after forget(), neither shares nor keeps a load begun before it; the expired value stays readable as a fallback", async () => {
    const c = new TtlCache<string>(1000, 10);
    const before = c.get("k", () => later("old"));
    c.forget("k");
    assert.equal(await c.get("k", () => later("new", 5)), "new", "not answered from the load begun before");
    assert.equal(await before, "old");
    assert.equal(await c.get("k", () => later("unused")), "new", "the old answer was not kept over the new one");
    assert.equal(c.stale("k"), "new");
  });
});
