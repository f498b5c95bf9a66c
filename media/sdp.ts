/**
 * SDP for the standards endpoints (WHIP to publish, WHEP to play): turns an encoder's or a
 * player's offer into mediasoup parameters and builds the answer. The SDP <-> ORTC mapping is
 * mediasoup-client's own (ortc, RemoteSdp, sdp utils), the code browsers use with mediasoup,
 * here run on the server side of one HTTP request.
 */
import type { types } from "mediasoup";
import * as ortc from "mediasoup-client/ortc";
import { RemoteSdp } from "mediasoup-client/handlers/sdp/RemoteSdp";
import * as sdpCommon from "mediasoup-client/handlers/sdp/commonUtils";
import * as sdpUnified from "mediasoup-client/handlers/sdp/unifiedPlanUtils";
import * as sdpTransform from "sdp-transform";
import { AppError } from "../lib/errors.js";
import type { TransportInfo } from "./transport-info.js";
import { MAX_SDP_BYTES } from "../protocol/media.js";

/** Media sections an offer may carry (a player wants audio and video; a few more are slack). */
const MAX_SECTIONS = 8;
/** Payload formats that are not a codec of their own (never the codec of an inactive answer). */
const NOT_A_CODEC = new Set(["rtx", "red", "ulpfec", "flexfec-03"]);

export interface Offer {
  sdp: sdpTransform.SessionDescription;
  /** Audio/video m-sections, in order. */
  media: sdpTransform.MediaDescription[];
  /** The remote side's DTLS fingerprints; it takes the DTLS client role (we answer passive). */
  dtls: types.DtlsParameters;
}

/** Parses and sanity-checks an offer; anything unusable is BAD_REQUEST with the reason. */
export function parseOffer(text: string): Offer {
  if (text.length > MAX_SDP_BYTES) throw new AppError("PAYLOAD_TOO_LARGE", `SDP larger than ${MAX_SDP_BYTES} bytes`);
  if (!/^v=0\r?\n/.test(text)) throw new AppError("BAD_REQUEST", "Invalid SDP offer: it must start with v=0");
  let sdp: sdpTransform.SessionDescription;
  try {
    sdp = sdpTransform.parse(text);
  } catch (err) {
    throw new AppError("BAD_REQUEST", `Invalid SDP offer: ${err instanceof Error ? err.message : String(err)}`);
  }
  const media = sdp.media.filter((m) => (m.type === "audio" || m.type === "video") && m.port !== 0);
  if (media.length === 0) throw new AppError("BAD_REQUEST", "Invalid SDP offer: no audio or video m= section");
  if (media.length > MAX_SECTIONS) throw new AppError("BAD_REQUEST", `Invalid SDP offer: more than ${String(MAX_SECTIONS)} media sections`);
  const mids = media.map((m) => m.mid ?? "");
  if (mids.some((m) => m === "")) throw new AppError("BAD_REQUEST", "Invalid SDP offer: every m= section needs a non-empty a=mid (BUNDLE)");
  if (new Set(mids).size !== mids.length) throw new AppError("BAD_REQUEST", "Invalid SDP offer: two m= sections share an a=mid");
  if (media.some((m) => !m.rtp.length)) throw new AppError("BAD_REQUEST", "Invalid SDP offer: an m= section lists no codecs");
  let dtls: types.DtlsParameters;
  try {
    dtls = sdpCommon.extractDtlsParameters({ sdpObject: sdp });
  } catch {
    throw new AppError("BAD_REQUEST", "Invalid SDP offer: no DTLS fingerprint / setup");
  }
  if (dtls.fingerprints.length === 0) throw new AppError("BAD_REQUEST", "Invalid SDP offer: no DTLS fingerprint");
  return { sdp, media, dtls: { ...dtls, role: "client" } };
}

function remoteSdp(t: TransportInfo): RemoteSdp {
  const r = new RemoteSdp({ iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: { ...t.dtlsParameters, role: "auto" } as never });
  r.updateDtlsRole("server"); // the offerer (client side) is the DTLS client: we answer a=setup:passive
  return r;
}

export interface WhipPlan {
  produce: { kind: types.MediaKind; rtpParameters: types.RtpParameters }[];
  answer: string;
}

/** WHIP: what to produce for each sendonly section of an encoder's offer, and the answer. */
export function planWhip(offer: Offer, routerCaps: types.RtpCapabilities, transport: TransportInfo): WhipPlan {
  const localCaps = sdpCommon.extractRtpCapabilities({ sdpObject: offer.sdp });
  let ext;
  try {
    ext = ortc.getExtendedRtpCapabilities(localCaps, routerCaps, false);
  } catch (err) {
    throw new AppError("BAD_REQUEST", `Unusable SDP offer: ${err instanceof Error ? err.message : String(err)}`);
  }
  const answer = remoteSdp(transport);
  if (offer.sdp.extmapAllowMixed) answer.setSessionExtmapAllowMixed();
  const produce: WhipPlan["produce"] = [];
  for (const m of offer.media) {
    const kind = m.type as types.MediaKind;
    if (m.direction !== undefined && m.direction !== "sendonly" && m.direction !== "sendrecv") throw new AppError("BAD_REQUEST", `WHIP offers send media: m=${kind} is ${m.direction}`);
    if (!ortc.canSend(kind, ortc.getSendRtpCapabilities(ext))) throw new AppError("BAD_REQUEST", `No ${kind} codec in common (we take Opus, VP8, H264 constrained baseline)`);
    const sending = ortc.getSendingRtpParameters(kind, ext);
    const remote = ortc.getSendingRemoteRtpParameters(kind, ext);
    sending.mid = String(m.mid);
    sending.rtcp = { ...sending.rtcp, cname: sdpCommon.getCname({ offerMediaObject: m }) };
    const rids = (m.rids ?? []).filter((r) => r.direction === "send");
    sending.encodings = rids.length > 0 ? rids.map((r) => ({ rid: String(r.id) })) : sdpUnified.getRtpEncodings({ offerMediaObject: m, codecs: sending.codecs });
    answer.send({ offerMediaObject: m, offerRtpParameters: sending, answerRtpParameters: remote });
    produce.push({ kind, rtpParameters: sending as types.RtpParameters });
  }
  return { produce, answer: answer.getSdp() };
}

/** WHEP: the player's receive capabilities (from its offer), to create consumers with. */
export function playerCapabilities(offer: Offer): types.RtpCapabilities {
  for (const m of offer.media) {
    if (m.direction !== undefined && m.direction !== "recvonly" && m.direction !== "sendrecv") throw new AppError("BAD_REQUEST", `WHEP offers receive media: m=${m.type} is ${m.direction}`);
  }
  return sdpCommon.extractRtpCapabilities({ sdpObject: offer.sdp }) as types.RtpCapabilities;
}

/**
 * Router codecs carrying the player's own payload types. mediasoup sends every consumer the
 * router's payload types (no per-consumer mapping: versatica/mediasoup#1126) while a WHEP
 * player decodes with the types of its offer, so each WHEP session gets a router that speaks
 * its numbers. RTX is left out (its payload type cannot be chosen).
 */
export function codecsForPlayer(playerCaps: types.RtpCapabilities, routerCaps: types.RtpCapabilities): types.RouterRtpCodecCapability[] {
  const ext = ortc.getExtendedRtpCapabilities(playerCaps, routerCaps, false);
  return ext.codecs.map((c) => ({
    kind: c.kind,
    mimeType: c.mimeType,
    clockRate: c.clockRate,
    ...(c.channels === undefined ? {} : { channels: c.channels }),
    parameters: c.remoteParameters,
    preferredPayloadType: c.localPayloadType,
  }));
}

/** The offer's first codec of a section, for a section answered inactive (nothing to send). */
function idleParameters(m: sdpTransform.MediaDescription): types.RtpParameters {
  const r = m.rtp.find((x) => !NOT_A_CODEC.has(x.codec.toLowerCase()));
  if (!r) throw new AppError("BAD_REQUEST", `Invalid SDP offer: m=${m.type} has no codec`);
  const channels = r.encoding;
  return {
    mid: String(m.mid),
    codecs: [{ mimeType: `${m.type}/${r.codec}`, payloadType: r.payload, clockRate: r.rate ?? 90000, ...(channels ? { channels } : {}), parameters: {}, rtcpFeedback: [] }],
    headerExtensions: [],
    encodings: [],
    rtcp: {},
  };
}

/**
 * WHEP answer: one section per offered section, in its order. A section the stream fills is
 * sendonly with its consumer's stream; one it cannot fill (a video-only broadcast asked for audio
 * too, a codec the player lacks) is answered inactive, as the offer/answer rules allow.
 */
export function whepAnswer(offer: Offer, transport: TransportInfo, consumers: Map<string, types.RtpParameters>): string {
  const answer = remoteSdp(transport);
  if (offer.sdp.extmapAllowMixed) answer.setSessionExtmapAllowMixed();
  for (const m of offer.media) {
    const rtp = consumers.get(String(m.mid)) ?? idleParameters(m);
    answer.send({ offerMediaObject: m, offerRtpParameters: rtp, answerRtpParameters: rtp });
  }
  const sdp = sdpTransform.parse(answer.getSdp());
  for (const section of sdp.media) {
    const rtp = consumers.get(String(section.mid));
    if (!rtp) {
      section.direction = "inactive";
      delete section.ssrcs;
      delete section.ssrcGroups;
      delete section.msid;
      continue;
    }
    section.direction = "sendonly";
    const enc = rtp.encodings?.[0];
    const cname = rtp.rtcp?.cname ?? "echostreamhub";
    const track = `esh-${String(section.mid)}`;
    const msid = `esh ${track}`;
    section.msid = [{ id: "esh", appdata: track }];
    if (enc?.ssrc !== undefined) {
      section.ssrcs = [{ id: enc.ssrc, attribute: "cname", value: cname }, { id: enc.ssrc, attribute: "msid", value: msid }];
      if (enc.rtx?.ssrc !== undefined) {
        section.ssrcs.push({ id: enc.rtx.ssrc, attribute: "cname", value: cname }, { id: enc.rtx.ssrc, attribute: "msid", value: msid });
        section.ssrcGroups = [{ semantics: "FID", ssrcs: `${enc.ssrc} ${enc.rtx.ssrc}` }];
      }
    }
  }
  return sdpTransform.write(sdp);
}
