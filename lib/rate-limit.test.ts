import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateLimiter, TokenBucket } from "./rate-limit.js";

describe("rate limiter", () => {
  it("allows the burst, then refuses with a wait that refills at the rate", () => {
    const rl = new RateLimiter(10, 5);
    const t = 1_000_000;
    for (let i = 0; i < 5; i++) assert.equal(rl.take("ip", t), 0);
    const wait = rl.take("ip", t);
    assert.ok(Math.abs(wait - 0.1) < 1e-9, `wait ${wait}`);
    assert.equal(rl.take("ip", t + 100), 0, "one token after 100 ms at 10/s");
    assert.equal(rl.take("other", t), 0, "keys are independent");
  });

  it("sweeps idle buckets and stays bounded", () => {
    const rl = new RateLimiter(1, 2, 10);
    for (let i = 0; i < 10; i++) rl.take(`k${i}`, 0);
    rl.take("late", 5000);
    assert.equal(rl.size, 1);
  });

  it("a single bucket refills up to its burst only", () => {
    const b = new TokenBucket(100, 3);
    const t = Date.now();
    for (let i = 0; i < 3; i++) assert.equal(b.take(t), 0);
    assert.ok(b.take(t) > 0);
    assert.equal(b.take(t + 60_000), 0);
    assert.ok(b.tokens <= 2);
  });
});
