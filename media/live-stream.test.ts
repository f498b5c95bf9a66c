/**
 * LiveStream against a real mediasoup worker (as mediasoup's own tests do): who joins how,
 * WHEP sessions with routers of their own, and the worker load each of them accounts, which
 * must come back to zero when the stream closes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../lib/config.js";
import { whepOffer } from "../tools/harness/sdp-offers.js";
import { LiveStream, type PeerOwner } from "./live-stream.js";
import { whep } from "./whip-whep.js";
import type { CloseReason, StreamNotice } from "../protocol/media.js";
import { parseOffer } from "./sdp.js";
import { WorkerPool } from "./worker-pool.js";

const cfg = loadConfig({ ESH_MEDIA_RTC_PORT: "0" }).media;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const VP8 = { codecs: [{ mimeType: "video/VP8", payloadType: 96, clockRate: 90000, rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }] }], encodings: [{ ssrc: 33330001 }], rtcp: { cname: "cam" } };
const OPUS = { codecs: [{ mimeType: "audio/opus", payloadType: 111, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 33330002 }], rtcp: { cname: "cam" } };
const who = (userId: string): PeerOwner => ({ userId, sid: `s-${userId}`, ip: "127.0.0.1" });

let pool: WorkerPool;

before(async () => {
  pool = await WorkerPool.create(cfg, 1, quiet);
});

after(() => {
  pool.close();
});

async function liveStream(notices: StreamNotice[] = [], closed: CloseReason[] = []): Promise<LiveStream> {
  const s = await LiveStream.open(`ls-${Math.random().toString(36).slice(2)}`, pool, cfg, { onNotice: (n) => notices.push(n), onClosed: (r) => closed.push(r) });
  const t = await s.join("cast", who("owner"), "broadcaster");
  await s.produce("cast", t.id, "video", VP8, "camera");
  await s.produce("cast", t.id, "audio", OPUS, "mic");
  return s;
}

describe("LiveStream (real mediasoup worker)", () => {
  it("a broadcaster's producers are announced, and the stream went live", async () => {
    const notices: StreamNotice[] = [];
    const s = await liveStream(notices);
    assert.deepEqual(notices.filter((n) => n.t === "media.producer").map((n) => (n.d as { kind: string }).kind).sort(), ["audio", "video"]);
    assert.ok(s.wentLive);
    s.close("ended");
  });

  it("the worker's load comes back to zero when a stream with WHEP players closes", async () => {
    const slot = pool.slots[0];
    assert.ok(slot);
    const before = { consumers: slot.consumers, routers: slot.routers };
    const s = await liveStream();
    await whep(s, "p1", who("viewer-1"), parseOffer(whepOffer()));
    await whep(s, "p2", who("viewer-2"), parseOffer(whepOffer()));
    assert.equal(slot.consumers - before.consumers, 4, "two WHEP players, audio and video each");
    assert.equal(slot.routers - before.routers, 3, "the stream's router and one per WHEP player");
    s.close("ended");
    await new Promise((r) => setTimeout(r, 100)); // routers close in the worker
    assert.deepEqual({ consumers: slot.consumers, routers: slot.routers }, before);
  });

  it("a WHEP player leaving gives its load back at once", async () => {
    const slot = pool.slots[0];
    assert.ok(slot);
    const s = await liveStream();
    const base = slot.consumers;
    await whep(s, "p1", who("viewer-1"), parseOffer(whepOffer()));
    assert.equal(slot.consumers - base, 2);
    assert.ok(s.leave("p1"));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(slot.consumers, base);
    s.close("ended");
  });

  it("a viewer leaving while its consume is in flight leaves no load on the worker", async () => {
    const slot = pool.slots[0];
    assert.ok(slot);
    const s = await liveStream();
    const base = slot.consumers;
    const v = await s.join("v1", who("viewer"), "viewer");
    const pending = s.consume("v1", v.id, s.rtpCapabilities).catch((e: unknown) => e);
    s.leave("v1"); // the socket closed while consume was in flight
    await pending;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(slot.consumers, base, "nothing counted for the peer that left");
    s.close("ended");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(slot.consumers, base);
  });
});
