/**
 * SDP offers shaped like a browser's, for WHIP/WHEP tests that need sessions but no media:
 * a session made from one never connects (nothing answers ICE), which is what flood and
 * timeout tests want. Media-carrying sessions come from Chromium (media-browser tests).
 */
import { randomBytes } from "node:crypto";

const fingerprint = (): string => [...randomBytes(32)].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");

export type VideoCodec = "VP8" | "H264";

const VIDEO_CODEC: Record<VideoCodec, string> = {
  VP8: "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 ccm fir\r\n",
  H264: "a=rtpmap:96 H264/90000\r\na=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 ccm fir\r\n",
};

function section(kind: "video" | "audio", mid: number, direction: "sendonly" | "recvonly", videoCodec: VideoCodec = "VP8"): string {
  const codec = kind === "video" ? VIDEO_CODEC[videoCodec] : "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";
  const pt = kind === "video" ? 96 : 111;
  const ssrc = direction === "sendonly" ? `a=ssrc:${1000 + mid} cname:test\r\n` : "";
  return `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:u${mid}ab\r\na=ice-pwd:${randomBytes(12).toString("hex")}\r\na=fingerprint:sha-256 ${fingerprint()}\r\na=setup:actpass\r\na=mid:${mid}\r\na=${direction}\r\na=rtcp-mux\r\n${codec}${ssrc}`;
}

function offer(direction: "sendonly" | "recvonly"): string {
  return `v=0\r\no=- ${Date.now()} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n${section("video", 0, direction)}${section("audio", 1, direction)}`;
}

/** An encoder's WHIP offer: VP8 video + Opus audio, sendonly. */
export const whipOffer = (): string => offer("sendonly");
/** A player's WHEP offer: video + audio, recvonly. */
export const whepOffer = (): string => offer("recvonly");

/** A WHEP offer of another shape, as players differ: which sections, in which order, which video codec. */
export function whepOfferOf(kinds: ("video" | "audio")[], videoCodec: VideoCodec = "VP8"): string {
  const sections = kinds.map((k, mid) => section(k, mid, "recvonly", videoCodec)).join("");
  return `v=0\r\no=- ${String(Date.now())} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE ${kinds.map((_, i) => String(i)).join(" ")}\r\na=msid-semantic: WMS\r\n${sections}`;
}

/** POSTs an offer; answers the status, the Location and the error code if any. */
export async function postOffer(url: string, sdp: string, token: string, headers: Record<string, string> = {}): Promise<{ status: number; location: string | null; code?: string; message?: string; retryAfter?: string | null }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/sdp", authorization: `Bearer ${token}`, ...headers }, body: sdp, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status === 201) return { status: 201, location: res.headers.get("location") };
  let error: { code?: string; message?: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
  } catch {
    error = undefined;
  }
  return { status: res.status, location: null, ...(error?.code ? { code: error.code } : {}), ...(error?.message ? { message: error.message } : {}), retryAfter: res.headers.get("retry-after") };
}
