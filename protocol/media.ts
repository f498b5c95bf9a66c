/**
 * The media part of the wire (docs/protocol.md#media): the quality ladder's names, and what a
 * `media.join` answers. Types and constants only; imported by the media actor, the gateway and
 * the web app (type-only there).
 */

/** The simulcast ladder's names, lowest first: spatial layer i is MEDIA_LAYERS[i]. */
export const MEDIA_LAYERS = ["low", "medium", "high"] as const;
export type MediaLayer = (typeof MEDIA_LAYERS)[number];
/** What a viewer may ask for: a layer, or "auto" (bandwidth estimation picks). */
export type Quality = MediaLayer | "auto";
export const QUALITIES: readonly Quality[] = ["auto", ...MEDIA_LAYERS];

export type MediaRole = "broadcaster" | "viewer";
export type MediaSource = "camera" | "screen" | "mic" | "whip";

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
