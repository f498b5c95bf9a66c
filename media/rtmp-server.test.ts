/**
 * The RTMP listener against node-media-server's own RTMP client on loopback: a publish is
 * answered only after the verdict, and what an accepted publish sends reaches the sink intact.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import { RtmpServer, type FlvPacket } from "./rtmp-server.js";

const require = createRequire(import.meta.url);
interface Client {
  connect(url: string): Promise<void>;
  sendConnect(): Promise<unknown>;
  sendCreateStream(): Promise<number>;
  sendPublish(name: string): Promise<unknown>;
  sendPacket(p: { codec_type: number; codec_id: number; flags: number; pts: number; dts: number; size: number; data: Buffer }): void;
  disconnect(): void;
}
const RtmpClient = require("node-media-server/src/protocol/rtmp_client.js") as new () => Client;

const received: FlvPacket[] = [];
const refusals: string[] = [];
let port = 0;
const server = new RtmpServer(async (req) => {
  if (req.key !== "good-key") {
    refusals.push(req.key);
    return { refused: "wrong stream key" };
  }
  return Promise.resolve({ sink: { packet: (p: FlvPacket) => received.push(p), close: () => undefined } });
}, () => undefined);

before(async () => {
  port = await server.listen(0, "127.0.0.1");
});
after(() => server.close());

describe("RtmpServer", () => {
  it("hands an accepted publish's tags to its sink, each its own bytes (the engine reuses its buffers)", async () => {
    const c = new RtmpClient();
    await c.connect(`rtmp://127.0.0.1:${String(port)}/live/good-key`);
    await c.sendConnect();
    await c.sendCreateStream();
    await c.sendPublish("good-key");
    // Three video tags of the same size on the one video chunk stream, as librtmp (OBS) sends them.
    for (let i = 0; i < 3; i++) c.sendPacket({ codec_type: 9, codec_id: 7, flags: 4, pts: i * 40, dts: i * 40, size: 64, data: Buffer.alloc(64, 0x10 + i) });
    const deadline = Date.now() + 5000;
    while (received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    c.disconnect();
    assert.equal(received.length, 3);
    assert.deepEqual(received.map((p) => p.data[0]), [0x10, 0x11, 0x12], "each packet kept its own bytes");
  });

  it("closes connections past 16 from one address at once", async () => {
    const net = await import("node:net");
    const open = await Promise.all(Array.from({ length: 17 }, () => new Promise<import("node:net").Socket>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(s));
      s.on("error", () => undefined);
      s.resume();
    })));
    const closed = await Promise.all(open.map((s) => new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 500);
      s.once("close", () => (clearTimeout(t), resolve(true)));
    })));
    assert.equal(closed.filter(Boolean).length, 1, "the 17th only");
    for (const s of open) s.destroy();
    await new Promise((r) => setTimeout(r, 300)); // the server counts them out
  });

  it("refuses a wrong key before the publish starts", async () => {
    const c = new RtmpClient();
    await c.connect(`rtmp://127.0.0.1:${String(port)}/live/bad-key`);
    await c.sendConnect();
    await c.sendCreateStream();
    const answer = await c.sendPublish("bad-key").then(() => "started", (e: unknown) => `refused: ${String(e)}`);
    c.disconnect();
    assert.match(answer, /^refused/);
    assert.deepEqual(refusals, ["bad-key"]);
  });
});
