import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStore } from "../../store/store-sqlite.js";
import type { Store } from "../../store/index.js";
import { waitFor } from "../../tools/harness/ports.js";
import { DEAD_AFTER_MS, Liveness } from "./liveness.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-liveness-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));
const started: Liveness[] = [];

/** A store whose writes can be stopped (a frozen or dead process) and started again. */
function pausable(s: Store): { store: Store; pause(): void; resume(): void } {
  let paused = false;
  const store = new Proxy(s, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => (paused ? Promise.reject(new Error("paused")) : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return { store, pause: () => (paused = true), resume: () => (paused = false) };
}

after(async () => {
  for (const l of started) await l.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("rooms node liveness (real sqlite store)", () => {
  it("finds a node that stopped beating dead within about a second, says so once, and alive again when it beats", async () => {
    const dead: string[] = [];
    const a = new Liveness(store, "a", (n) => dead.push(n));
    const b = pausable(store);
    const lb = new Liveness(b.store, "b");
    started.push(a, lb);
    await lb.start();
    await a.start();
    await new Promise((r) => setTimeout(r, DEAD_AFTER_MS + 300));
    assert.equal(a.dead("b"), false, "beating: alive");
    assert.equal(a.dead("a"), false, "never itself");
    assert.equal(a.deadAt("a"), Number.POSITIVE_INFINITY, "never itself");
    b.pause();
    const t0 = performance.now();
    const due = a.deadAt("b");
    assert.ok(due > t0 - 1 && due <= t0 + DEAD_AFTER_MS, `while it beats, its death is due within DEAD_AFTER_MS (${(due - t0).toFixed(0)} ms)`);
    await waitFor("b found dead", () => (a.dead("b") ? true : undefined), 5000, 20);
    assert.ok(performance.now() >= due, "dead no earlier than deadAt() said while it still beat");
    const took = performance.now() - t0;
    assert.ok(took >= DEAD_AFTER_MS - 200, `not before it was quiet for long enough (${took.toFixed(0)} ms)`);
    await waitFor("b reported", () => (dead.includes("b") ? true : undefined), 2000, 20);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(dead, ["b"], "reported once");
    b.resume();
    await waitFor("b alive again", () => (a.dead("b") ? undefined : true), 3000, 20);
    await lb.stop(); // a graceful stop removes the key: dead at once
    await waitFor("b gone", () => (a.dead("b") ? true : undefined), 2000, 20);
    assert.deepEqual(dead, ["b"], "a graceful stop is not reported as a death (its key is gone, not stale)");
  });
});
