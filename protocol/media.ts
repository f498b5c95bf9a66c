/**
 * The media part of the wire (docs/protocol.md#media): the simulcast ladder the broadcaster sends
 * and viewers choose from, what media.join answers, the notices a stream sends its peers, and
 * the SDP size limit of WHIP/WHEP. Types and constants only; imported by the media actor, the
 * gateway and the web app.
 */

/** The ladder, lowest first: spatial layer i of a simulcast producer is MEDIA_LADDER[i]. The
 *  browser broadcasts these encodings; viewers pin a layer by its name. */
export const MEDIA_LADDER = [
  { name: "low", rid: "r0", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { name: "medium", rid: "r1", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { name: "high", rid: "r2", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
] as const;
export type MediaLayer = (typeof MEDIA_LADDER)[number]["name"];
/** What a viewer may ask for: a layer, or "auto" (bandwidth estimation picks). */
export type Quality = MediaLayer | "auto";
export const QUALITIES: readonly Quality[] = ["auto", ...MEDIA_LADDER.map((q) => q.name)];

export type MediaRole = "broadcaster" | "viewer";

/** Ids mediasoup gives transports and consumers, as clients send them back. */
export const MEDIA_OBJECT_ID_SCHEMA = { type: "string", min: 1, max: 64 } as const;

/** Largest SDP offer a WHIP/WHEP endpoint reads. */
export const MAX_SDP_BYTES = 64 * 1024;

export interface ProducerInfo {
  producerId: string;
  kind: "audio" | "video";
  source: string;
}

/** The answer to `media.join`: the router's capabilities and the peer's WebRTC transport
 *  (mediasoup's shapes, passed through to mediasoup-client as they are). */
export interface MediaJoinAnswer {
  rtpCapabilities: unknown;
  transport: { id: string; iceParameters: unknown; iceCandidates: unknown[]; dtlsParameters: unknown };
  producers: ProducerInfo[];
}

/** Why a stream's media closed: only "ended" is final; the others say join again. */
export type CloseReason = "ended" | "worker-died" | "node-stopping" | "origin-lost";

/** What a stream tells its peers (pushed on their WebSockets as is). */
export type StreamNotice =
  | { t: "media.producer"; d: { streamId: string; producerId: string; kind: string; source: string } }
  | { t: "media.producer.closed"; d: { streamId: string; producerId: string } }
  | { t: "media.closed"; d: { streamId: string; reason: CloseReason; reconnect: boolean } };

/** What the gateways receive (event `media.out`) and publish to the stream's topic. */
export interface MediaOut {
  streamId: string;
  notice: StreamNotice;
  /** Only for these peers (a `media.closed` for the viewers of a router whose worker died). */
  peers?: string[];
}

/** A live stream's card image (GET /live/<id>/card.jpg): a 320 px frame renewed every LIVE_CARD_EVERY_SEC. */
export const LIVE_CARD = "card.jpg";
export const LIVE_CARD_EVERY_SEC = 30;

/** A video's thumbnail sprite (GET /vod/<id>/sprite.jpg): columns x rows tiles, `width` px wide,
 *  evenly spaced over the video (tile i at i/(columns*rows) of its length). */
export const SPRITE = { columns: 5, rows: 5, width: 160 } as const;
