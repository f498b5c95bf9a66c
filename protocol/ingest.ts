/**
 * Encoders' side of the wire: what the studio is told about a stream key (GET /api/streams/:id/key)
 * and what a stream key grants (streams.checkIngestKey, for media nodes and the WHIP route).
 */

/** The stream key and where to send it. `{host}` in the RTMP server stands for the host the
 *  studio was opened at, when the server names none (media.ingestHost). */
export interface IngestSettings {
  key: string;
  rtmp: { server: string; key: string } | null;
  whip: { url: string; bearer: string };
}

/** What a valid stream key names. */
export interface IngestGrant {
  streamId: string;
  ownerId: string;
  ownerName: string;
}
