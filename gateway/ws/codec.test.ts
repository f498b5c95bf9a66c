import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { wireCodec } from "../../lib/serializer.js";
import { decodeFrame } from "./codec.js";

const ab = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

describe("ws codec", () => {
  it("decodes msgpack and JSON frames to the same shape", () => {
    const f = { t: "ping", id: 7, d: { x: 1 } };
    assert.deepEqual(decodeFrame(ab(wireCodec.pack(f)), true), f);
    assert.deepEqual(decodeFrame(ab(new TextEncoder().encode(JSON.stringify(f))), false), f);
  });

  it("rejects malformed frames with MALFORMED_FRAME, never a crash", () => {
    const bad: [Uint8Array, boolean][] = [
      [new Uint8Array([0xc1]), true], // never-used msgpack byte
      [new Uint8Array([0xd9, 0xff]), true], // str8 claiming 255 bytes, truncated
      [new TextEncoder().encode("{not json"), false],
      [new Uint8Array([0xff, 0xfe, 0x7b]), false], // invalid utf-8
      [new TextEncoder().encode("[1,2]"), false],
      [new TextEncoder().encode('{"d":1}'), false],
      [new TextEncoder().encode(`{"t":"${"x".repeat(65)}"}`), false],
      [new TextEncoder().encode('{"t":"ping","id":{"a":1}}'), false],
      [wireCodec.pack(42), true],
      [wireCodec.pack(null), true],
    ];
    for (const [bytes, isBinary] of bad) {
      assert.throws(() => decodeFrame(ab(bytes), isBinary), { type: "MALFORMED_FRAME" }, Buffer.from(bytes).toString("hex"));
    }
  });
});
