/**
 * Identifiers on the wire: stream, room, user, poll, transport and consumer ids, and usernames.
 * The schemas are fastest-validator's shapes (actors' params, the gateway's WebSocket messages).
 */

/** Ids are 1-64 of these characters (URL- and path-safe: no dots, slashes or percent signs). */
export const ID_PATTERN = /^[A-Za-z0-9_-]+$/;
export const ID_MAX = 64;
export const ID_SCHEMA = { type: "string", min: 1, max: ID_MAX, pattern: ID_PATTERN } as const;

/** Whether a string is a well-formed id (for paths and URLs checked outside a validator). */
export function isId(s: string): boolean {
  return s.length >= 1 && s.length <= ID_MAX && ID_PATTERN.test(s);
}

/** Usernames: 3-32 id characters. */
export const USERNAME_SCHEMA = { type: "string", min: 3, max: 32, pattern: ID_PATTERN } as const;

/** A stream's category ("music", "gaming"...) and language (a BCP 47 primary tag; "" = unknown). */
export const STREAM_CATEGORY_PATTERN = /^[a-z0-9-]+$/;
export const STREAM_LANGUAGE_PATTERN = /^([a-z]{2,3})?$/;
