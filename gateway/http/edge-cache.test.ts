/**
 * The edge cache against a real HTTP origin that answers slowly (like a far-away origin):
 * simultaneous misses share one origin fetch; memory and disk stay within their bounds and a
 * body evicted from memory comes back from disk; origin 404s pass through; ranges are cut
 * from the cached body.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { EDGE_MAX_AGE_SEC, EdgeCache } from "./edge-cache.js";

let origin: http.Server;
let base: string;
let dir: string;
const fetched: string[] = [];

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "esh-edge-"));
  origin = http.createServer((req, res) => {
    fetched.push(req.url ?? "");
    if (req.url?.startsWith("/vod/broken/")) return res.writeHead(500).end("origin bug");
    if (req.url?.startsWith("/vod/private/") && req.headers.authorization !== "Bearer viewer" && !req.url.includes("?pt=signed")) return res.writeHead(401).end();
    if (req.url?.startsWith("/vod/private/")) return setTimeout(() => res.writeHead(200, { "content-type": "video/mp2t", "cache-control": "private, no-store" }).end(Buffer.alloc(500, 9)), 200);
    const m = /seg_(\d+)\.ts(\?.*)?$/.exec(req.url ?? "");
    setTimeout(() => {
      if (!m) return res.writeHead(404).end();
      res.writeHead(200, { "content-type": "video/mp2t", "cache-control": "public, max-age=31536000, immutable", etag: `"s${m[1] ?? ""}"` }).end(Buffer.alloc(1000, Number(m[1])));
    }, 200);
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
});

after(() => {
  origin.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("edge cache", () => {
  it("100 simultaneous misses for one path cost one origin fetch", async () => {
    const edge = new EdgeCache(base, dir, 10_000, 100_000);
    const answers = await Promise.all(Array.from({ length: 100 }, () => edge.get("/vod/a/240p/seg_00001.ts", "", "")));
    assert.equal(fetched.filter((u) => u.endsWith("seg_00001.ts")).length, 1);
    for (const a of answers) {
      assert.equal(a?.status, 200);
      assert.equal(a.body.length, 1000);
    }
    assert.equal(edge.stats.misses, 100);
    assert.equal(edge.stats.originFetches, 1);
    const part = await edge.get("/vod/a/240p/seg_00001.ts", "bytes=0-9", "");
    assert.equal(part?.status, 206);
    assert.equal(part.body.length, 10);
    assert.equal((await edge.get("/vod/a/240p/seg_00001.ts", "", '"s00001"'))?.status, 304);
  });

  it("memory stays bounded, evicted bodies come back from disk, and 404s pass through", async () => {
    const edge = new EdgeCache(base, dir, 2500, 100_000); // room for two 1000-byte bodies in memory
    for (const n of [2, 3, 4]) await edge.get(`/vod/b/240p/seg_0000${n}.ts`, "", "");
    assert.ok(edge.stats.memoryBytes <= 2500, `memory ${edge.stats.memoryBytes}`);
    assert.equal(edge.stats.diskBytes, 3000);
    const before = fetched.length;
    const again = await edge.get("/vod/b/240p/seg_00002.ts", "", ""); // evicted from memory, on disk
    assert.equal(again?.body[0], 2);
    assert.equal(fetched.length, before, "served from disk, not the origin");
    assert.equal(await edge.get("/vod/b/240p/index.m3u8", "", ""), undefined);
  });

  it("an origin failure is UNAVAILABLE (retryable), never a client error; a 404 is remembered briefly", async () => {
    const edge = new EdgeCache(base, dir, 10_000, 100_000);
    await assert.rejects(edge.get("/vod/broken/240p/seg_00001.ts", "", ""), (err: { type?: string }) => err.type === "UNAVAILABLE");
    const before = fetched.filter((u) => u.endsWith("/missing.m3u8")).length;
    for (let i = 0; i < 5; i++) assert.equal(await edge.get("/vod/c/240p/missing.m3u8", "", ""), undefined);
    assert.equal(fetched.filter((u) => u.endsWith("/missing.m3u8")).length - before, 1, "five 404s cost one origin fetch");
    const gone = new EdgeCache("http://127.0.0.1:1", dir, 10_000, 100_000);
    await assert.rejects(gone.get("/vod/d/240p/seg_00001.ts", "", ""), (err: { type?: string }) => err.type === "UNAVAILABLE");
  });

  it("a deleted or re-permissioned stream's files are purged; nothing is kept longer than 5 minutes", async () => {
    const edge = new EdgeCache(base, dir, 10_000, 100_000);
    await edge.get("/vod/gone/240p/seg_00005.ts", "", "");
    await edge.get("/vod/kept/240p/seg_00005.ts", "", "");
    const fetchedBefore = fetched.length;
    edge.purge("/vod/gone/");
    await edge.get("/vod/gone/240p/seg_00005.ts", "", "");
    await edge.get("/vod/kept/240p/seg_00005.ts", "", "");
    assert.equal(fetched.length - fetchedBefore, 1, "only the purged stream's file is fetched again");
    assert.equal(EDGE_MAX_AGE_SEC, 300);
  });

  it("a private file goes to the origin with each viewer's own credential and is never kept", async () => {
    const edge = new EdgeCache(base, dir, 10_000, 100_000);
    await assert.rejects(edge.get("/vod/private/240p/seg_00007.ts", "", ""), (err: { type?: string }) => err.type === "FORBIDDEN");
    assert.equal((await edge.get("/vod/private/240p/seg_00007.ts", "", "", { authorization: "Bearer viewer" }))?.status, 200);
    assert.equal((await edge.get("/vod/private/240p/seg_00008.ts", "", "", { pt: "signed" }))?.status, 200);
    await assert.rejects(edge.get("/vod/private/240p/seg_00008.ts", "", ""), (err: { type?: string }) => err.type === "FORBIDDEN", "not served from the cache to a stranger");
    // A stranger asking at the same moment as an entitled viewer does not share their answer.
    const [ok, stranger] = await Promise.allSettled([edge.get("/vod/private/240p/seg_00009.ts", "", "", { authorization: "Bearer viewer" }), edge.get("/vod/private/240p/seg_00009.ts", "", "")]);
    assert.equal(ok.status, "fulfilled");
    assert.equal(stranger.status, "rejected");    const [stranger2, ok2] = await Promise.allSettled([edge.get("/vod/private/240p/seg_00010.ts", "", ""), edge.get("/vod/private/240p/seg_00010.ts", "", "", { authorization: "Bearer viewer" })]);
    assert.equal(stranger2.status, "rejected");
    assert.equal(ok2.status, "fulfilled", "nor does a viewer share a stranger's refusal");
  });
});
