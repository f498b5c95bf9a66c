/**
 * Load shedding's arithmetic: a join is refused only when the joins ahead would take longer
 * than joinQueueMs to clear (at the measured rate, never assumed below the nominal one), the
 * wait asked for is that time, bounded and jittered; the event loop's lag is measured for real.
 * The hub's use of it (a refused join, a 503 upgrade) is tested in ws/hub.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addressKey, Admission, NOMINAL_JOINS_PER_SEC } from "./admission.js";

const refusal = (a: Admission): { retryAfterMs: number; retryAfterSec: number } | undefined => {
  try {
    a.admitJoin("198.51.100.1")();
    return undefined;
  } catch (err) {
    assert.equal((err as { type?: string }).type, "UNAVAILABLE");
    return (err as { data: { retryAfterMs: number; retryAfterSec: number } }).data;
  }
};

describe("Admission", () => {
  it("takes a cold gateway's storm up to joinQueueMs at the nominal rate, and refuses past it", () => {
    const joins = { pending: 0, rate: 0 };
    const a = new Admission({ joinQueueMs: 2000, joinsPerIp: 200, shedLagMs: 1000, joins, random: () => 0.5 });
    joins.pending = (2 * NOMINAL_JOINS_PER_SEC) - 1; // under 2 s of queue at the nominal rate
    assert.equal(refusal(a), undefined);
    joins.pending = 3 * NOMINAL_JOINS_PER_SEC;
    assert.deepEqual(refusal(a), { retryAfterMs: 2000, retryAfterSec: 2 }, "3 s of queue: back once it is under 2 s (1 s), plus a draw within 2 s (its middle here)");
    assert.equal(a.refusedJoins, 1);
  });

  it("uses the measured rate when it is faster, and bounds the wait", () => {
    const joins = { pending: 9000, rate: 6000 };
    const a = new Admission({ joinQueueMs: 1000, joinsPerIp: 200, shedLagMs: 1000, joins, random: () => 0 });
    assert.deepEqual(refusal(a), { retryAfterMs: 500, retryAfterSec: 1 }, "1.5 s of queue at 6,000/s: under the 1 s limit in 0.5 s (the draw at its start here)");
    const b = new Admission({ joinQueueMs: 100, joinsPerIp: 200, shedLagMs: 1000, joins: { pending: 1e9, rate: 0 }, random: () => 0.999 });
    assert.equal(refusal(b)?.retryAfterMs, 30_000, "never more than 30 s");
  });

  it("lets one address have joinsPerIp joins on their way, no more, and counts each out once", () => {
    const a = new Admission({ joinQueueMs: 2000, joinsPerIp: 3, shedLagMs: 1000, joins: { pending: 0, rate: 0 }, random: () => 0.5 });
    const done = [a.admitJoin("203.0.113.9"), a.admitJoin("203.0.113.9"), a.admitJoin("203.0.113.9")];
    assert.throws(() => a.admitJoin("203.0.113.9"), (err: { type?: string; data?: { retryAfterMs?: number } }) => err.type === "RATE_LIMITED" && (err.data?.retryAfterMs ?? 0) > 0);
    assert.doesNotThrow(() => a.admitJoin("198.51.100.7")(), "another address is not held back");
    done[0]?.();
    done[0]?.(); // twice: counted out once
    assert.doesNotThrow(() => a.admitJoin("203.0.113.9"));
    assert.throws(() => a.admitJoin("203.0.113.9"), (err: { type?: string }) => err.type === "RATE_LIMITED");
  });

  it("counts an IPv6 client by its /64: its many addresses do not each get the cap", () => {
    assert.equal(addressKey("203.0.113.9"), "203.0.113.9");
    assert.equal(addressKey("::ffff:203.0.113.9"), "203.0.113.9", "IPv4-mapped");
    assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    assert.equal(addressKey("2001:DB8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
    assert.equal(addressKey("2001:db8::7"), "2001:db8:0:0::/64");
    assert.equal(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    const a = new Admission({ joinQueueMs: 2000, joinsPerIp: 2, shedLagMs: 1000, joins: { pending: 0, rate: 0 } });
    a.admitJoin("2001:db8:1:2::a");
    a.admitJoin("2001:db8:1:2::b");
    assert.throws(() => a.admitJoin("2001:db8:1:2::c"), (err: { type?: string }) => err.type === "RATE_LIMITED", "a third address of the same /64");
    assert.doesNotThrow(() => a.admitJoin("2001:db8:1:3::a"), "another /64");
  });

  it("measures the event loop's lag and refuses upgrades while it is past shedLagMs", async () => {
    const a = new Admission({ joinQueueMs: 1000, joinsPerIp: 200, shedLagMs: 250, joins: { pending: 0, rate: 0 } });
    a.start();
    try {
      await new Promise((r) => setTimeout(r, 120));
      assert.doesNotThrow(() => a.admitUpgrade());
      const until = performance.now() + 600;
      while (performance.now() < until); // blocked
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 60)); // the sampler's next tick sees it
      assert.ok(a.lagMs >= 500, `lag measured: ${String(a.lagMs)}`);
      assert.throws(() => a.admitUpgrade(), (err: { type?: string }) => err.type === "UNAVAILABLE");
      await new Promise((r) => setTimeout(r, 500));
      assert.doesNotThrow(() => a.admitUpgrade(), "taken again once the loop caught up");
    } finally {
      a.stop();
    }
  });
});
