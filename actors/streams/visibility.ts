/**
 * Who may see and watch a stream: the platform's entitlement rule, in one place (the catalog,
 * the key server, playback URLs, playlists and segments, live media and rooms all ask it).
 *   public   — listed and searchable; anyone may watch (a guest token is enough);
 *   unlisted — anyone with the link may watch; never listed, searched or recommended;
 *   private  — only its owner, admins and the users the owner granted.
 * Calls from other actors (no caller) see everything: they act for the platform.
 */
import type { Caller } from "../../lib/identity.js";

export const VISIBILITIES = ["public", "unlisted", "private"] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** What the rule needs of a stream. */
export interface Watchable {
  ownerId: string;
  visibility?: Visibility;
  /** Users the owner granted a private stream (user ids). */
  grants?: string[];
}

const visibilityOf = (s: Watchable): Visibility => s.visibility ?? "public";

/** Owner, admin, or a call from another actor. */
export function manages(s: Watchable, caller: Caller | undefined): boolean {
  if (caller === undefined) return true;
  return caller.kind === "user" && (caller.principal.role === "admin" || caller.principal.userId === s.ownerId);
}

/** May this caller watch (play, fetch keys, join the room)? */
export function canWatch(s: Watchable, caller: Caller | undefined): boolean {
  if (visibilityOf(s) !== "private" || manages(s, caller)) return true;
  return caller?.kind === "user" && !caller.principal.guest && (s.grants ?? []).includes(caller.principal.userId);
}

/** Is it listed (catalog lists, search, recommendations)? Only public streams; their own
 *  owners find the others in their studio (a list of their own streams). */
export function isListed(s: Watchable): boolean {
  return visibilityOf(s) === "public";
}
