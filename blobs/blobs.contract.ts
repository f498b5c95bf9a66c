/**
 * The blob store contract (blobs.ts) as a test suite. Each backend's test file calls it with a
 * factory that opens a fresh, empty store.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { BlobStore } from "./blobs.js";

export function blobsContract(name: string, open: () => Promise<BlobStore>, dispose: () => Promise<void> = () => Promise.resolve()): void {
  describe(`blob store contract: ${name}`, () => {
    let blobs: BlobStore;
    let tmp: string;
    before(async () => {
      blobs = await open();
      tmp = mkdtempSync(path.join(os.tmpdir(), "esh-blobs-"));
    });
    after(async () => {
      await blobs.close();
      await dispose();
      rmSync(tmp, { recursive: true, force: true });
    });

    it("puts and gets an object whole, with its size and a quoted ETag; a missing key is undefined", async () => {
      const data = randomBytes(3000);
      const put = await blobs.put("vod/s1/master.m3u8", data);
      assert.equal(put.size, 3000);
      assert.match(put.etag, /^"[^"]+"$/);
      const got = await blobs.get("vod/s1/master.m3u8");
      assert.ok(got);
      assert.deepEqual(got.body, data);
      assert.equal(got.info.etag, put.etag);
      assert.deepEqual(await blobs.stat("vod/s1/master.m3u8"), { ...put, modified: got.info.modified });
      assert.equal(await blobs.get("vod/s1/missing.ts"), undefined);
      assert.equal(await blobs.stat("vod/s1/missing.ts"), undefined);
    });

    it("reads byte ranges, across chunk boundaries too", async () => {
      const data = randomBytes(1_300_000); // several 512 KiB chunks
      await blobs.put("vod/s1/big.ts", data);
      for (const [a, b] of [[0, 0], [10, 99], [524_280, 524_300], [1_000_000, 1_299_999], [1_299_999, 1_299_999]] as const) {
        assert.deepEqual((await blobs.get("vod/s1/big.ts", [a, b]))?.body, data.subarray(a, b + 1), `bytes ${a}-${b}`);
      }
    });

    it("a rewrite replaces the bytes and changes the ETag; readers never see a mix", async () => {
      const a = await blobs.put("live/s2/index.m3u8", Buffer.from("first version"));
      const b = await blobs.put("live/s2/index.m3u8", Buffer.from("second, longer version"));
      assert.notEqual(a.etag, b.etag);
      const reads = await Promise.all([0, 1, 2, 3].map(async (i) => {
        if (i % 2) await blobs.put("live/s2/index.m3u8", Buffer.from(i === 1 ? "first version" : "second, longer version"));
        return (await blobs.get("live/s2/index.m3u8"))?.body.toString();
      }));
      for (const r of reads) assert.ok(r === "first version" || r === "second, longer version", r);
    });

    it("streams a file in", async () => {
      const src = path.join(tmp, "src.bin");
      const data = randomBytes(2_000_000);
      writeFileSync(src, data);
      const put = await blobs.putFile("uploads/s3/000000000000000", src);
      assert.equal(put.size, data.length);
      assert.deepEqual((await blobs.get("uploads/s3/000000000000000"))?.body, data);
    });

    it("lists by prefix in key order, and deletes one key or a whole prefix", async () => {
      for (const k of ["vod/s4/b/seg_1.ts", "vod/s4/a.m3u8", "vod/s4/b/seg_0.ts", "vod/s40/x.ts", "live/s4/x.ts"]) await blobs.put(k, Buffer.from(k));
      assert.deepEqual((await blobs.list("vod/s4/")).map((b) => b.key), ["vod/s4/a.m3u8", "vod/s4/b/seg_0.ts", "vod/s4/b/seg_1.ts"]);
      await blobs.delete("vod/s4/a.m3u8");
      await blobs.delete("vod/s4/a.m3u8");
      assert.equal(await blobs.stat("vod/s4/a.m3u8"), undefined);
      assert.equal(await blobs.deletePrefix("vod/s4/"), 2);
      assert.deepEqual(await blobs.list("vod/s4/"), []);
      assert.equal((await blobs.list("vod/s40/")).length, 1, "a prefix is whole segments: s4/ is not s40/");
      assert.equal((await blobs.list("live/s4/")).length, 1);
    });

    it("a write that cannot be stored is a typed error, never a raw one", async () => {
      await blobs.put("vod/s5/a", Buffer.from("x"));
      // The directory backend cannot put a folder where a file is; a flat store can. Either way: no raw error.
      const r = await blobs.put("vod/s5/a/b", Buffer.from("y")).then(() => "stored", (err: unknown) => (err as { type?: string }).type ?? String(err));
      assert.ok(r === "stored" || r === "UNAVAILABLE", r);
    });

    it("refuses keys that could escape or confuse: BAD_REQUEST, nothing written", async () => {
      for (const k of ["../etc/passwd", "vod/../x", "/abs", "vod//x", "vod/x/", "", "a b", "vod/.hidden/..", "a/b/c/d/e/f/g/h/i"]) {
        await assert.rejects(blobs.put(k, Buffer.from("x")), { type: "BAD_REQUEST" }, k);
        await assert.rejects(blobs.get(k), { type: "BAD_REQUEST" }, k);
      }
      await assert.rejects(blobs.list("vod"), { type: "BAD_REQUEST" });
      await assert.rejects(blobs.deletePrefix("../"), { type: "BAD_REQUEST" });
    });
  });
}
