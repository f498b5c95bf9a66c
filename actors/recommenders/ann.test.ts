import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { annTopK, buildIndex } from "./ann.js";
import { topK, type Weights } from "./model.js";

function clustered(items: number, dim: number): Weights {
  let s = 99;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296 - 0.5) * 2;
  const centres = Float32Array.from({ length: 30 * dim }, r);
  const v = new Float32Array(items * dim);
  for (let i = 0; i < items; i++) for (let d = 0; d < dim; d++) v[i * dim + d] = (centres[(i % 30) * dim + d] as number) * 0.1 + r() * 0.03;
  return { items, dim, w: v, v, bias: Float32Array.from({ length: items }, r) };
}

describe("inverted-file index", () => {
  it("finds nearly the exact top 20, never an excluded item, scoring a fraction of the items", () => {
    const m = clustered(6000, 16);
    const index = buildIndex(m);
    assert.equal(index.clusters, 77);
    assert.equal(index.members.reduce((n, l) => n + l.length, 0), 6000, "every item in exactly one cluster");
    let overlap = 0;
    for (let q = 0; q < 30; q++) {
      const u = m.v.slice(q * 37 * 16, q * 37 * 16 + 16);
      const exclude = (i: number) => i % 7 === 0;
      const exact = new Set(topK(m, u, 20, exclude).map((x) => x.item));
      const got = annTopK(m, index, u, 20, exclude);
      assert.equal(got.length, 20);
      assert.ok(got.every((x) => x.item % 7 !== 0));
      overlap += got.filter((x) => exact.has(x.item)).length / 20;
    }
    assert.ok(overlap / 30 >= 0.9, `recall@20 vs exact ${(overlap / 30).toFixed(3)}`);
  });
});
