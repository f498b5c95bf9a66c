import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLOSE, reconnectAfter, RECONNECT_MAX_MS } from "./close-codes.js";

describe("reconnect rules (docs/protocol.md#close-codes)", () => {
  it("reconnects after 1001, 1006 and 4000-4499 with a doubling, jittered backoff capped at 30 s", () => {
    for (const code of [1001, 1006, CLOSE.SLOW_CONSUMER, CLOSE.FLOODING, CLOSE.TOKEN_EXPIRED, 4499]) {
      assert.equal(reconnectAfter(code, 0, 0), 500, String(code));
      assert.equal(reconnectAfter(code, 0, 0.999), 1000, String(code));
      assert.equal(reconnectAfter(code, 1, 0), 1000);
      assert.equal(reconnectAfter(code, 5, 0), 16_000);
      assert.equal(reconnectAfter(code, 6, 0), RECONNECT_MAX_MS);
      assert.equal(reconnectAfter(code, 50, 0.9), RECONNECT_MAX_MS);
    }
  });

  it("leaves a draining node at once, then backs off like any other loss", () => {
    assert.ok((reconnectAfter(CLOSE.RECONNECT_ELSEWHERE, 0, 0.99) ?? Infinity) < 250);
    assert.equal(reconnectAfter(CLOSE.RECONNECT_ELSEWHERE, 2, 0), 2000);
  });

  it("never reconnects after a normal close, a too-large frame or a 45xx code", () => {
    for (const code of [1000, 1009, CLOSE.PROTOCOL_ERROR, CLOSE.SESSION_REVOKED, CLOSE.FORBIDDEN, 4999]) assert.equal(reconnectAfter(code, 0, 0.5), undefined, String(code));
  });
});
