/**
 * Encoders' side of the wire: what the studio is told about a stream key (GET /api/streams/:id/key)
 * and what a stream key grants (streams.checkIngestKey, for media nodes and the WHIP route).
 */

/** The stream key and where to send it. `{host}` in the RTMP server stands for the host the
 *  studio was opened at, when the server names none (media.ingestHost). */
export interface IngestSettings {
  key: string;
  rtmp: { server: string; key: string } | null;
  /** The SRT URL with the key as its streamid, or null when SRT is off. */
  srt: string | null;
  whip: { url: string; bearer: string };
}

/** What the studio shows of a live stream's incoming media (GET /api/streams/:id/ingest). */
export interface IngestStatus {
  /** rtmp: an encoder over RTMP; webrtc: the browser studio or a WHIP encoder; null: nobody publishes. */
  ingest: "rtmp" | "srt" | "webrtc" | null;
  videoKbps?: number;
  fps?: number;
  width?: number;
  height?: number;
  audio?: boolean;
  /** Why the last encoder publishing this stream here was refused or cut off, and when (ms). */
  lastRefusal?: { why: string; at: number };
}

/** What a valid stream key names. */
export interface IngestGrant {
  streamId: string;
  ownerId: string;
  ownerName: string;
  /** The owner's role now: a key speaks for its owner only while they are a creator or admin. */
  ownerRole: "creator" | "admin";
}
