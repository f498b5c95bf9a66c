/**
 * What a live stream's router speaks, and the layer a quality of the ladder (protocol/media.ts) pins.
 * VP8 and H264 (Constrained Baseline, Main, High) for video, Opus for audio.
 */
import type { types } from "mediasoup";
import { MEDIA_LADDER, type Quality } from "../protocol/media.js";

export const MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2 },
  { kind: "video", mimeType: "video/VP8", clockRate: 90000, parameters: { "x-google-start-bitrate": 1000 } },
  {
    kind: "video",
    mimeType: "video/H264",
    clockRate: 90000,
    parameters: { "packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1, "x-google-start-bitrate": 1000 },
  },
  // Encoders over RTMP/SRT (OBS's x264 defaults to High) pass through without a transcode:
  // mediasoup matches H.264 by profile, so Main and High are spoken too.
  { kind: "video", mimeType: "video/H264", clockRate: 90000, parameters: { "packetization-mode": 1, "profile-level-id": "4d0032", "level-asymmetry-allowed": 1 } },
  { kind: "video", mimeType: "video/H264", clockRate: 90000, parameters: { "packetization-mode": 1, "profile-level-id": "640032", "level-asymmetry-allowed": 1 } },
];

export { QUALITIES, type Quality } from "../protocol/media.js";

/** The spatial layer to pin for a manual choice; undefined = automatic (bandwidth estimation). */
export function spatialLayerOf(q: Quality): number | undefined {
  const i = MEDIA_LADDER.findIndex((l) => l.name === q);
  return i < 0 ? undefined : i;
}
