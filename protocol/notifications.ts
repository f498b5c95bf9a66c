/**
 * Notifications pushed to a user's open app sessions over the WebSocket (`{t:"notify", d}`), and
 * the catalog event they come from.
 */

/** A creator the user follows (and did not mute) went live. */
export interface LiveNotification {
  kind: "live";
  streamId: string;
  title: string;
  creatorId: string;
  creatorName: string;
  at: number;
}

export type Notification = LiveNotification;

/** Event `streams.status` (the streams actor, on every lifecycle move). */
export interface StreamStatusEvent {
  id: string;
  status: string;
  kind?: "live" | "vod";
  ownerId?: string;
  ownerName?: string;
  title?: string;
  /** Public (listed): only those are announced to followers. */
  listed?: boolean;
}
