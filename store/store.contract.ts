/**
 * The store contract (store.ts) as a test suite. Each backend's test file calls it with a
 * factory that opens a fresh, empty store.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Store } from "./store.js";

export function storeContract(name: string, open: () => Promise<Store>, dispose: () => Promise<void> = () => Promise.resolve()): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
      await dispose();
    });

    it("returns undefined for a missing key", async () => {
      assert.equal(await store.get("things", "missing"), undefined);
    });

    it("puts and gets a copy of the value with a positive revision", async () => {
      const value = { a: 1, nested: { b: [1, 2] } };
      const rev = await store.put("things", "k1", value);
      assert.ok(rev > 0);
      value.nested.b.push(3);
      const got = await store.get<typeof value>("things", "k1");
      assert.deepEqual(got, { key: "k1", value: { a: 1, nested: { b: [1, 2] } }, revision: rev });
      got.value.a = 99;
      assert.equal((await store.get<typeof value>("things", "k1"))!.value.a, 1);
    });

    it("create-only put (expect 0) conflicts when the key exists", async () => {
      await store.put("things", "unique", { n: 1 }, { expect: 0 });
      await assert.rejects(store.put("things", "unique", { n: 2 }, { expect: 0 }), { type: "CONFLICT" });
      assert.equal((await store.get<{ n: number }>("things", "unique"))!.value.n, 1);
    });

    it("compare-and-set by revision: the stale writer loses, nothing is lost", async () => {
      const r1 = await store.put("things", "cas", { v: "a" });
      const r2 = await store.put("things", "cas", { v: "b" }, { expect: r1 });
      assert.ok(r2 > r1);
      await assert.rejects(store.put("things", "cas", { v: "stale" }, { expect: r1 }), { type: "CONFLICT" });
      assert.equal((await store.get<{ v: string }>("things", "cas"))!.value.v, "b");
    });

    it("of two racing creates exactly one wins", async () => {
      const results = await Promise.allSettled([0, 1, 2, 3].map((i) => store.put("things", "race", { i }, { expect: 0 })));
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    });

    it("deletes, idempotently, and a deleted key can be created again", async () => {
      await store.put("things", "gone", { x: 1 });
      await store.delete("things", "gone");
      await store.delete("things", "gone");
      assert.equal(await store.get("things", "gone"), undefined);
      await store.put("things", "gone", { x: 2 }, { expect: 0 });
      assert.equal((await store.get<{ x: number }>("things", "gone"))!.value.x, 2);
    });

    it("delete with a stale revision conflicts", async () => {
      const r = await store.put("things", "del-cas", { x: 1 });
      await store.put("things", "del-cas", { x: 2 });
      await assert.rejects(store.delete("things", "del-cas", { expect: r }), { type: "CONFLICT" });
    });

    it("lists by prefix, ordered by key, without deleted entries", async () => {
      await store.put("listing", "u1.b", { n: 2 });
      await store.put("listing", "u1.a", { n: 1 });
      await store.put("listing", "u2.a", { n: 3 });
      await store.put("listing", "u1.c", { n: 4 });
      await store.delete("listing", "u1.c");
      const got = await store.list<{ n: number }>("listing", "u1.");
      assert.deepEqual(got.map((e) => [e.key, e.value.n]), [["u1.a", 1], ["u1.b", 2]]);
      assert.equal((await store.list("listing")).length, 3);
      assert.deepEqual(await store.list("empty_collection"), []);
    });

    it("rejects keys and collections that could become paths or subjects", async () => {
      for (const key of ["", "../etc/passwd", "a/b", "a b", "a..b", ".a", "a.", "*", ">", "x".repeat(201)]) {
        await assert.rejects(store.put("things", key, {}), { type: "BAD_REQUEST" }, `key ${JSON.stringify(key)}`);
        await assert.rejects(store.get("things", key), { type: "BAD_REQUEST" });
      }
      await assert.rejects(store.put("../x", "k", {}), { type: "BAD_REQUEST" });
      await assert.rejects(store.list("things", "*"), { type: "BAD_REQUEST" });
    });

    it("keeps unicode and large values intact", async () => {
      const v = { s: "héllo 🎥 ".repeat(1000), list: Array.from({ length: 500 }, (_, i) => i) };
      await store.put("things", "big", v);
      assert.deepEqual((await store.get("things", "big"))!.value, v);
    });
  });
}
