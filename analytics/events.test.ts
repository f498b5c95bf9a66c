import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientBatch, deviceFrom } from "./events.js";

const stamp = { userId: 'u"1', sessionId: "s\\1", node: "n-1", serverMs: 1_800_000_000_000, device: deviceFrom("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1") };

describe("clientBatch", () => {
  it("writes one JSON line per accepted event, event_id first, stamped by the server", () => {
    const { batch, dropped } = clientBatch(
      [
        { id: "a1", type: "startup", ts: stamp.serverMs - 5, view: "v", stream: "s", duration: 412.6, data: { note: 'quote " and \\ and\nnewline' } },
        { id: "a2", type: "heartbeat", ts: 1, watched: 10_000, bitrate: 800 },
        { id: "bad id!", type: "play", ts: 1 },
      ],
      stamp,
    );
    assert.deepEqual(dropped, [{ i: 2, reason: "id: 1-64 of [A-Za-z0-9_.:-]" }]);
    assert.equal(batch.events, 2);
    const lines = batch.lines.toString().trimEnd().split("\n");
    assert.equal(lines.length, 2);
    for (const l of lines) assert.ok(l.startsWith('{"event_id":"'));
    const [a = {}, b = {}] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(a.user_id, 'u"1');
    assert.equal(a.session_id, "s\\1");
    assert.equal(a.duration_ms, 413);
    assert.equal(a.client_ms, stamp.serverMs - 5);
    assert.equal(a.device, "phone");
    assert.deepEqual(JSON.parse(String(a.data)), { note: 'quote " and \\ and\nnewline' });
    assert.equal(b.client_ms, stamp.serverMs, "a clock a day off is replaced by the server's");
    assert.equal(b.server_ms, stamp.serverMs);
  });

  it("marks re-sent batches at the end of each line", () => {
    const { batch } = clientBatch([{ id: "r1", type: "play", ts: stamp.serverMs }], stamp, true);
    const line = batch.lines.toString().trimEnd();
    assert.ok(line.endsWith(',"r":1}'));
    assert.equal((JSON.parse(line) as { r: number }).r, 1);
  });
});
