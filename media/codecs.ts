/**
 * What a live stream's router speaks, and the platform's quality ladder for WebRTC simulcast.
 * VP8 and H264 for video (browsers, OBS over WHIP), Opus for audio.
 */
import type { types } from "mediasoup";

export const MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2 },
  { kind: "video", mimeType: "video/VP8", clockRate: 90000, parameters: { "x-google-start-bitrate": 1000 } },
  {
    kind: "video",
    mimeType: "video/H264",
    clockRate: 90000,
    parameters: { "packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1, "x-google-start-bitrate": 1000 },
  },
];

/** The ladder, lowest first: spatial layer i of a simulcast producer is QUALITY_LADDER[i]. */
export const QUALITY_LADDER = [
  { name: "low", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { name: "medium", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { name: "high", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
] as const;

export type Quality = (typeof QUALITY_LADDER)[number]["name"] | "auto";
export const QUALITIES: readonly Quality[] = ["auto", ...QUALITY_LADDER.map((q) => q.name)];

/** The spatial layer to pin for a manual choice; undefined = automatic (bandwidth estimation). */
export function spatialLayerOf(q: Quality): number | undefined {
  const i = QUALITY_LADDER.findIndex((l) => l.name === q);
  return i < 0 ? undefined : i;
}
