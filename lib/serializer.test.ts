import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MsgpackrSerializer } from "./serializer.js";

describe("msgpackr serializer", () => {
  it("round-trips a Moleculer request packet payload, binary data included, smaller than JSON", () => {
    const s = new MsgpackrSerializer();
    const packet = { ver: "4", sender: "node-1", id: "abc", action: "sessions.login", params: { username: "ann", blob: Buffer.from([1, 2, 3]) }, meta: { caller: { kind: "anonymous", ip: "127.0.0.1" } }, timeout: 10000, level: 1, tracing: null, parentID: null, requestID: "abc", stream: false };
    const buf = s.serialize(packet);
    const back = s.deserialize(buf) as typeof packet;
    assert.deepEqual({ ...back, params: { ...back.params, blob: Buffer.from(back.params.blob) } }, packet);
    assert.ok(buf.length < Buffer.byteLength(JSON.stringify(packet)));
  });
});
