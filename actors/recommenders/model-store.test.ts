import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsServer } from "../../tools/harness/nats.js";
import { buildIndex } from "./ann.js";
import { decodeVersion, encodeVersion, FileModelStore, ObjectModelStore, type Version } from "./model-store.js";

function version(n: number, items = 6000): Version {
  const dim = 4;
  const f = (len: number, k: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(i * k + n));
  const weights = { items, dim, w: f(items * dim, 1.1), v: f(items * dim, 0.7), bias: f(items, 0.3) };
  return { version: n, trainedAt: 1_800_000_000_000 + n, backend: "wasm", trainMs: 12, items: Array.from({ length: items }, (_, i) => `s${i}`), weights, index: buildIndex(weights) };
}

describe("model versions: encoding, files, NATS object store", () => {
  let nats: NatsServer;
  let dir: string;

  before(async () => {
    nats = await NatsServer.start();
    dir = mkdtempSync(path.join(os.tmpdir(), "esh-models-"));
  });

  after(async () => {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("round-trips weights, item ids and the index", () => {
    const v = version(3);
    const back = decodeVersion(encodeVersion(v));
    assert.deepEqual({ ...back, weights: undefined, index: undefined }, { ...v, weights: undefined, index: undefined });
    assert.deepEqual(back.weights, v.weights);
    assert.deepEqual(back.index, v.index);
  });

  it("keeps the newest versions on disk", async () => {
    const files = new FileModelStore(dir, 2);
    for (const n of [1, 2, 3]) await files.save(version(n, 10));
    assert.deepEqual(readdirSync(dir).sort(), ["recs-000002.bin", "recs-000003.bin"]);
    assert.equal((await files.latest())?.version, 3);
  });

  it("a trainer's version reaches a scorer through the object store", async () => {
    const trainer = await ObjectModelStore.open(nats.url, "t1", 1);
    const scorer = await ObjectModelStore.open(nats.url, "t1", 1);
    assert.equal(await scorer.latest(), undefined);
    await trainer.save(version(1));
    await trainer.save(version(2));
    const got = await scorer.latest();
    assert.ok(got);
    assert.equal(got.version, 2);
    assert.deepEqual(got.weights.bias, version(2).weights.bias);
    await trainer.close();
    await scorer.close();
  });
});
