/** What an encoder ingest (RTMP: flv-ingest.ts, SRT: ts-ingest.ts) is given by its owner, and the RTP both send. */
import type { types } from "mediasoup";
import type { LiveStream } from "./live-stream.js";
import type { PeerOwner } from "./peer.js";

export interface IngestOptions {
  stream: LiveStream;
  peerId: string;
  who: PeerOwner;
  maxKbps: number;
  maxHeight: number;
  /** Ends the encoder's session (a refusal or a cap): the reason is logged and shown to the owner. */
  end(why: string): void;
  /** Producing started (the stream went live). */
  onLive(): void;
  /** The ingest stopped (encoder gone, refused, cap): the peer has left. */
  onClosed(why: string): void;
  log(msg: string): void;
}

/** How an encoder ingest's ffmpeg sends RTP to its legs, and what the producers are told of it:
 *  H.264 passed through, audio as Opus. */
export const VIDEO_PT = 102;
export const AUDIO_PT = 100;

export interface RtpLeg {
  port: number;
  rtcpPort: number;
}

const rtpUrl = (l: RtpLeg) => `rtp://127.0.0.1:${String(l.port)}?rtcpport=${String(l.rtcpPort)}&pkt_size=1200`;

/** ffmpeg output arguments: the first video stream copied as H.264 RTP. */
export function h264Output(leg: RtpLeg, ssrc: number): string[] {
  return ["-map", "0:v:0", "-c:v", "copy", "-f", "rtp", "-payload_type", String(VIDEO_PT), "-ssrc", String(ssrc), rtpUrl(leg)];
}

/** ffmpeg output arguments: the first audio stream as Opus RTP. */
export function opusOutput(leg: RtpLeg, ssrc: number): string[] {
  return ["-map", "0:a:0", "-c:a", "libopus", "-b:a", "128k", "-ar", "48000", "-ac", "2", "-application", "lowdelay", "-f", "rtp", "-payload_type", String(AUDIO_PT), "-ssrc", String(ssrc), rtpUrl(leg)];
}

export function h264Parameters(profileLevelId: string, ssrc: number): types.RtpParameters {
  return {
    codecs: [{ mimeType: "video/H264", payloadType: VIDEO_PT, clockRate: 90000, parameters: { "packetization-mode": 1, "profile-level-id": profileLevelId, "level-asymmetry-allowed": 1 }, rtcpFeedback: [] }],
    encodings: [{ ssrc }],
  };
}

export function opusParameters(ssrc: number): types.RtpParameters {
  return { codecs: [{ mimeType: "audio/opus", payloadType: AUDIO_PT, clockRate: 48000, channels: 2, parameters: { "sprop-stereo": 1 } }], encodings: [{ ssrc }] };
}
