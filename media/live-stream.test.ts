/**
 * LiveStream against a real mediasoup worker (as mediasoup's own tests do): who joins how,
 * WHEP sessions with routers of their own, and the worker load each of them accounts, which
 * must come back to zero when the stream closes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../lib/config.js";
import { whepOffer, whepOfferOf } from "../tools/harness/sdp-offers.js";
import { parse as parseSdp } from "sdp-transform";
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

  it("WHEP answers every offer shape with what the stream has, the rest inactive; nothing playable is refused", async () => {
    const directions = (sdp: string) => parseSdp(sdp).media.map((m) => `${m.type}:${String(m.direction)}`);
    const videoOnly = await LiveStream.open("video-only", pool, cfg, { onNotice: () => undefined, onClosed: () => undefined });
    const t = await videoOnly.join("cast", who("owner"), "broadcaster");
    await videoOnly.produce("cast", t.id, "video", VP8, "camera");
    // A standard player asks for audio and video: it gets the video, the audio section inactive.
    assert.deepEqual(directions(await whep(videoOnly, "w1", who("p1"), parseOffer(whepOffer()))), ["video:sendonly", "audio:inactive"]);
    // Audio first, then video: the order of the offer is kept.
    assert.deepEqual(directions(await whep(videoOnly, "w2", who("p2"), parseOffer(whepOfferOf(["audio", "video"])))), ["audio:inactive", "video:sendonly"]);
    assert.deepEqual(directions(await whep(videoOnly, "w3", who("p3"), parseOffer(whepOfferOf(["video"])))), ["video:sendonly"]);
    // An H.264-only player of a VP8 broadcast has nothing it can play.
    await assert.rejects(whep(videoOnly, "w4", who("p4"), parseOffer(whepOfferOf(["video"], "H264"))), (e: { type?: string; message?: string }) => e.type === "BAD_REQUEST" && /no video codec in common/.test(e.message ?? ""));
    // An audio-only player of a video-only broadcast neither.
    await assert.rejects(whep(videoOnly, "w5", who("p5"), parseOffer(whepOfferOf(["audio"]))), (e: { type?: string }) => e.type === "BAD_REQUEST");
    videoOnly.close("ended");
    // Before anything is produced: not live yet.
    const empty = await LiveStream.open("empty", pool, cfg, { onNotice: () => undefined, onClosed: () => undefined });
    await assert.rejects(whep(empty, "w6", who("p6"), parseOffer(whepOffer())), (e: { type?: string }) => e.type === "CONFLICT");
    empty.close("ended");
  });

  it("WHEP plays an H.264 broadcast to an H.264-only player (the ingest path's codec)", async () => {
    const s = await LiveStream.open("h264", pool, cfg, { onNotice: () => undefined, onClosed: () => undefined });
    s.joinIngest("enc", who("owner"));
    const H264 = { codecs: [{ mimeType: "video/H264", payloadType: 102, clockRate: 90000, parameters: { "packetization-mode": 1, "profile-level-id": "42c01e", "level-asymmetry-allowed": 1 }, rtcpFeedback: [] }], encodings: [{ ssrc: 44440001 }] };
    const leg = await s.produceRtp("enc", "video", H264, "rtmp");
    assert.ok(leg.port > 0 && leg.rtcpPort > 0);
    const answer = parseSdp(await whep(s, "w1", who("p1"), parseOffer(whepOfferOf(["video", "audio"], "H264"))));
    assert.deepEqual(answer.media.map((m) => `${m.type}:${String(m.direction)}:${m.rtp[0]?.codec ?? ""}`), ["video:sendonly:H264", "audio:inactive:opus"]);
    s.close("ended");
  });

  it("a worker dying under some viewers drops only them (told to join again); the stream and the other viewers go on", async () => {
    const two = await WorkerPool.create({ ...cfg, maxConsumersPerRouter: 2 }, 2, quiet);
    try {
      const lost: string[][] = [];
      const closed: CloseReason[] = [];
      const s = await LiveStream.open("spread", two, { ...cfg, maxConsumersPerRouter: 2 }, { onNotice: () => undefined, onClosed: (r) => closed.push(r), onPeersLost: (ids) => lost.push(ids) });
      const t = await s.join("cast", who("owner"), "broadcaster");
      await s.produce("cast", t.id, "video", VP8, "camera");
      const v1 = await s.join("v1", who("viewer-1"), "viewer");
      await s.consume("v1", v1.id, s.rtpCapabilities); // one consumer each (video): two fill the origin router
      const v2 = await s.join("v2", who("viewer-2"), "viewer");
      await s.consume("v2", v2.id, s.rtpCapabilities);
      const v3 = await s.join("v3", who("viewer-3"), "viewer");
      await s.consume("v3", v3.id, s.rtpCapabilities);
      const hosts = s.hosts();
      assert.equal(hosts.length, 2, `viewers spread over a second worker: ${JSON.stringify(hosts)}`);
      const [origin, spare] = [hosts[0]?.slot ?? -1, hosts[1]?.slot ?? -1];
      assert.notEqual(origin, spare);
      const onSpare = ["v1", "v2", "v3"].filter((id) => s.peer(id)?.host.slot.index === spare);
      assert.ok(onSpare.length >= 1);
      process.kill(two.slots[spare]?.worker.pid ?? 0, "SIGKILL");
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(closed, [], "the stream is still open");
      assert.deepEqual(lost.flat().sort(), onSpare.sort(), "only the dead worker's viewers were dropped and told");
      for (const id of ["v1", "v2", "v3"]) assert.equal(s.peer(id) !== undefined, !onSpare.includes(id));
      assert.ok(s.producers.size > 0 && !s.closed);
      // They join again: placed on a router that is up.
      const again = await s.join(onSpare[0] ?? "", who("viewer-again"), "viewer");
      const infos = await s.consume(onSpare[0] ?? "", again.id, s.rtpCapabilities);
      assert.ok(infos.length > 0);
      s.close("ended");
    } finally {
      two.close();
    }
  });
});
