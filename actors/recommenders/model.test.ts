import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generate, holdOut } from "./dataset.js";
import { evaluate } from "./metrics.js";
import { DEFAULT_MODEL, foldInItems, histories, topK, train, userVector } from "./model.js";
import { loadTf } from "./tf.js";

describe("recommendation model (TF.js)", () => {
  it("beats popularity on generated data with planted tastes", async () => {
    const { tf, backend } = await loadTf();
    assert.ok(["tensorflow", "wasm", "cpu"].includes(backend));
    const data = generate({ users: 2000, items: 500, perUser: 25, seed: 3 });
    const { train: rows, test } = holdOut(data, 1);
    const hist = histories(rows);
    const losses: number[] = [];
    const model = await train(tf, 500, hist, { ...DEFAULT_MODEL, epochs: 8 }, (p) => losses.push(p.loss));
    assert.ok((losses.at(-1) ?? Infinity) < (losses[0] ?? 0), `loss falls: ${losses.map((l) => l.toFixed(2)).join(" ")}`);
    const seen = (u: number) => hist.get(u) ?? new Map<number, number>();
    const counts = new Float64Array(500);
    for (const r of rows) counts[r.item] = (counts[r.item] ?? 0) + 1;
    const popular = [...counts.keys()].sort((a, b) => (counts[b] ?? 0) - (counts[a] ?? 0));
    const ours = evaluate(test, (u) => topK(model, userVector(model, seen(u)), 10, (i) => seen(u).has(i)).map((r) => r.item), 10, 500);
    const pop = evaluate(test, (u) => popular.filter((i) => !seen(u).has(i)).slice(0, 10), 10, 500);
    assert.ok(ours.recall > 1.25 * pop.recall, `recall@10 model ${ours.recall.toFixed(3)} vs popularity ${pop.recall.toFixed(3)}`);
    assert.ok(ours.coverage > pop.coverage);
  });

  it("never recommends excluded items, and folds new items in from their category", () => {
    const m = { items: 4, dim: 2, w: new Float32Array([1, 0, 0, 1, 1, 1, 0, 0]), v: new Float32Array([1, 0, 0, 1, 1, 1, 0, 0]), bias: new Float32Array(4) };
    const u = userVector(m, new Map([[0, 1]]));
    assert.deepEqual(topK(m, u, 2).map((r) => r.item), [0, 2]);
    assert.deepEqual(topK(m, u, 2, (i) => i === 0).map((r) => r.item), [2, 1]);
    const cats = [0, 1, 0, 1, 0].map((category, id) => ({ id, category, creator: 0, language: 0, live: false, popularity: 1 }));
    const grown = foldInItems(m, cats);
    assert.equal(grown.items, 5);
    assert.deepEqual([...grown.v.slice(8, 10)], [1, 0.5], "item 4 starts at the mean of category 0 (items 0 and 2)");
  });
});
