import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLOSE, reconnectAfter, RECONNECT_MAX_MS } from "./close-codes.js";

describe("reconnect rules (docs/protocol.md#close-codes)", () => {
  it("reconnects after 1001, 1006, 40xx and any other code a proxy may send, waiting a uniform draw below 0.5 s doubling to 30 s", () => {
    for (const code of [1001, 1005, 1006, 1009, 1011, 1012, 1013, 1015, CLOSE.SLOW_CONSUMER, CLOSE.FLOODING, CLOSE.TOKEN_EXPIRED, 4499]) {
      assert.equal(reconnectAfter(code, 0, 0.5), 250, String(code));
      assert.equal(reconnectAfter(code, 0, 0), 0, String(code));
      assert.equal(reconnectAfter(code, 0, 0.999), 499, String(code));
      assert.equal(reconnectAfter(code, 1, 0.5), 500);
      assert.equal(reconnectAfter(code, 4, 0.5), 4000);
      assert.equal(reconnectAfter(code, 6, 0.999), RECONNECT_MAX_MS - 30, "capped at 30 s");
      assert.equal(reconnectAfter(code, 50, 0.5), RECONNECT_MAX_MS / 2);
    }
  });

  it("spreads a gateway's clients evenly over the first half second (full jitter), and at the cap too", () => {
    const first = Array.from({ length: 10 }, (_, i) => reconnectAfter(1006, 0, i / 10) ?? -1);
    assert.deepEqual(first, [0, 50, 100, 150, 200, 250, 300, 350, 400, 450]);
    const waits = new Set([0, 0.25, 0.5, 0.75, 0.99].map((r) => reconnectAfter(1006, 20, r)));
    assert.equal(waits.size, 5);
    for (const w of waits) assert.ok(w !== undefined && w >= 0 && w < RECONNECT_MAX_MS, String(w));
  });

  it("leaves a draining node at once, then backs off like any other loss", () => {
    assert.ok((reconnectAfter(CLOSE.RECONNECT_ELSEWHERE, 0, 0.99) ?? Infinity) < 250);
    assert.equal(reconnectAfter(CLOSE.RECONNECT_ELSEWHERE, 2, 0.5), 1000);
  });

  it("never reconnects after a normal close or a 45xx code", () => {
    for (const code of [1000, CLOSE.PROTOCOL_ERROR, CLOSE.SESSION_REVOKED, CLOSE.FORBIDDEN, 4999]) assert.equal(reconnectAfter(code, 0, 0.5), undefined, String(code));
  });
});
