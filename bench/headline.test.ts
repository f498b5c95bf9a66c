import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headlineOf, luckyAfterFailure } from "./headline.js";

describe("bench headlines", () => {
  it("is the highest step with every lower step passed; a pass after a failure is luck, shown apart", () => {
    const steps = [{ n: 1, ok: true }, { n: 2, ok: true }, { n: 3, ok: false }, { n: 4, ok: true }];
    assert.equal(headlineOf(steps, (s) => s.ok)?.n, 2);
    assert.deepEqual(luckyAfterFailure(steps, (s) => s.ok).map((s) => s.n), [4]);
    assert.equal(headlineOf([{ ok: false }, { ok: true }], (s) => s.ok), undefined);
    assert.equal(headlineOf([], () => true), undefined);
  });
});
