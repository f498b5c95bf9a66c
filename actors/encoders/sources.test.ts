import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chainOf } from "./sources.js";

const part = (from: number, to: number) => ({ from, to });

describe("chainOf: which parts make an upload", () => {
  it("follows the committed chain past a part a late writer left (same start, other end)", () => {
    // B committed 0-60 and C 60-100; A, whose lease ran out, landed 0-30 afterwards.
    assert.deepEqual(chainOf([part(0, 30), part(0, 60), part(60, 100)], 100), [part(0, 60), part(60, 100)]);
    // Longest first is not enough: the late part may be the longer one.
    assert.deepEqual(chainOf([part(0, 80), part(0, 60), part(60, 100)], 100), [part(0, 60), part(60, 100)]);
  });

  it("refuses a hole or a part past the length; follows to the end when the length is unknown", () => {
    assert.equal(chainOf([part(0, 50), part(60, 100)], 100), undefined);
    assert.equal(chainOf([part(0, 120)], 100), undefined);
    assert.equal(chainOf([], 100), undefined);
    assert.deepEqual(chainOf([part(0, 10), part(10, 25)]), [part(0, 10), part(10, 25)]);
  });

  it("joins a 1 GiB upload of 64 KiB chunks (16,384 parts) without recursion", () => {
    const n = 16_384;
    const parts = Array.from({ length: n }, (_, i) => part(i * 65_536, (i + 1) * 65_536));
    parts.push(part(0, 100)); // one stale part
    assert.equal(chainOf(parts.reverse(), n * 65_536)?.length, n);
  });
});
