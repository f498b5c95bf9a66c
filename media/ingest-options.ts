/** What an encoder ingest (RTMP: flv-ingest.ts, SRT: ts-ingest.ts) is given by its owner. */
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
