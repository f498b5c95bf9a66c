/**
 * The standards endpoints' media side (docs/protocol.md#whip-and-whep): WHIP, an encoder's SDP
 * offer made into a broadcaster peer with producers; WHEP, a player's offer made into a viewer
 * peer on a router of its own, with one running consumer per section the stream can fill (the
 * others answered inactive; nothing to fill at all is refused). Both
 * answer SDP; the peer is left again if anything fails. A session is watched like a socket
 * would be (media/live-stream.ts watchSession).
 */
import type { types } from "mediasoup";
import { AppError } from "../lib/errors.js";
import { checkCapabilities, mediaCall, type LiveStream } from "./live-stream.js";
import type { PeerOwner } from "./peer.js";
import { codecsForPlayer, planWhip, playerCapabilities, whepAnswer, type Offer } from "./sdp.js";

/** WHIP: an encoder's offer -> transport, producers; returns the SDP answer. */
export async function whip(stream: LiveStream, peerId: string, who: PeerOwner, offer: Offer): Promise<string> {
  const t = await stream.join(peerId, who, "broadcaster");
  try {
    const plan = planWhip(offer, stream.rtpCapabilities, t);
    await stream.connect(peerId, t.id, offer.dtls);
    for (const p of plan.produce) await stream.produce(peerId, t.id, p.kind, p.rtpParameters, "whip");
    stream.watchSession(peerId, t.id);
    return plan.answer;
  } catch (err) {
    stream.leave(peerId);
    throw err;
  }
}

/** WHEP: a player's offer -> transport, one running consumer per offered section; returns the answer. */
export async function whep(stream: LiveStream, peerId: string, who: PeerOwner, offer: Offer): Promise<string> {
  const caps = playerCapabilities(offer);
  checkCapabilities(caps);
  let mediaCodecs;
  try {
    mediaCodecs = codecsForPlayer(caps, stream.rtpCapabilities);
  } catch (err) {
    throw new AppError("BAD_REQUEST", `No codec in common with the player: ${err instanceof Error ? err.message : String(err)}`);
  }
  const own = await stream.ownHost(mediaCodecs, peerId);
  const t = await stream.join(peerId, who, "viewer", own).catch((err: unknown) => {
    own.router.close();
    throw err;
  });
  try {
    await stream.connect(peerId, t.id, offer.dtls);
    const peer = stream.peer(peerId);
    const transport = peer?.transports.get(t.id);
    if (!peer || !transport) throw new AppError("CONFLICT", "Left the stream while joining");
    const byMid = new Map<string, types.RtpParameters>();
    const unfilled: string[] = [];
    for (const m of offer.media) {
      const kind = m.type === "audio" ? "audio" : "video"; // parseOffer keeps audio and video sections only
      // The player's router speaks only the player's codecs: piping a producer of another codec fails.
      const producerId = await stream.pipeKindTo(kind, own).catch((err: unknown) => {
        if (err instanceof Error && err.name === "UnsupportedError") return null;
        throw err;
      });
      if (producerId === undefined || producerId === null || !own.router.canConsume({ producerId, rtpCapabilities: caps })) {
        // Answered inactive: the stream has no such media, or the player no codec for it.
        unfilled.push(producerId === undefined ? `no ${kind} in this broadcast` : `no ${kind} codec in common`);
        continue;
      }
      const c = await mediaCall("RTP capabilities", () => transport.consume({ producerId, rtpCapabilities: caps, paused: false, mid: String(m.mid), enableRtx: false, appData: { peerId } }));
      peer.track(c);
      byMid.set(String(m.mid), c.rtpParameters);
    }
    if (byMid.size === 0) {
      const nothing = stream.producers.size === 0;
      throw new AppError(nothing ? "CONFLICT" : "BAD_REQUEST", nothing ? "The broadcaster is not live yet" : `Nothing this player can play: ${unfilled.join(", ")}`);
    }
    const answer = whepAnswer(offer, t, byMid);
    for (const c of peer.consumers.values()) if (c.kind === "video") c.requestKeyFrame().catch(() => undefined);
    stream.watchSession(peerId, t.id);
    return answer;
  } catch (err) {
    stream.leave(peerId);
    throw err;
  }
}
