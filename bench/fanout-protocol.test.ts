import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Receipts, histIndex, percentile, HIST_BUCKETS } from "./fanout-protocol.js";

describe("fan-out bench accounting", () => {
  it("counts each chat once per client and every further receipt as a duplicate, across senders and growth", () => {
    const r = new Receipts();
    for (const [w, n] of [[0, 0], [1, 0], [0, 5000], [0, 0], [1, 0], [2, 7], [0, 5000]] as const) r.add(w, n);
    assert.equal(r.unique, 4);
    assert.equal(r.dups, 3);
  });

  it("reads percentiles off the 0.1 ms histogram", () => {
    const h = new Array<number>(HIST_BUCKETS).fill(0);
    for (let ms = 1; ms <= 100; ms++) h[histIndex(ms)] = (h[histIndex(ms)] ?? 0) + 1;
    assert.equal(percentile(h, 0.5), 50.1);
    assert.equal(percentile(h, 0.99), 99.1);
    assert.ok(Number.isNaN(percentile(new Array<number>(HIST_BUCKETS).fill(0), 0.5)));
  });
});
