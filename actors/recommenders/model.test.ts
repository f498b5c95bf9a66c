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
    const held: number[] = [];
    const model = await train(tf, 500, hist, { ...DEFAULT_MODEL, maxSteps: 400 }, (p) => held.push(p.heldOut));
    assert.ok(Math.min(...held) < (held[0] ?? 0), `the held-out loss falls: ${held.map((l) => l.toFixed(2)).join(" ")}`);
    const seen = (u: number) => hist.get(u) ?? new Map<number, number>();
    const counts = new Float64Array(500);
    for (const r of rows) counts[r.item] = (counts[r.item] ?? 0) + 1;
    const popular = [...counts.keys()].sort((a, b) => (counts[b] ?? 0) - (counts[a] ?? 0));
    const ours = evaluate(test, (u) => topK(model, userVector(model, seen(u)), 10, (i) => seen(u).has(i)).map((r) => r.item), 10, 500);
    const pop = evaluate(test, (u) => popular.filter((i) => !seen(u).has(i)).slice(0, 10), 10, 500);
    assert.ok(ours.recall > 1.25 * pop.recall, `recall@10 model ${ours.recall.toFixed(3)} vs popularity ${pop.recall.toFixed(3)}`);
    assert.ok(ours.coverage > pop.coverage);
  });

  it("a small audience trains to convergence, not for a fixed number of epochs (150 users used to get 12 steps)", async () => {
    const { tf } = await loadTf();
    const data = generate({ users: 150, items: 90, perUser: 40, categories: 6, seed: 5 });
    const hist = histories(holdOut(data, 1).train);
    const steps: number[] = [];
    await train(tf, 90, hist, { ...DEFAULT_MODEL, dim: 16, patience: 4 }, (p) => steps.push(p.step));
    assert.ok((steps.at(-1) ?? 0) >= DEFAULT_MODEL.minSteps, `trained ${String(steps.at(-1))} steps`);
    assert.ok((steps.at(-1) ?? 0) < DEFAULT_MODEL.maxSteps, "and stopped on the held-out loss, before the cap");
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
