/**
 * Who is calling. The gateway verifies the access token and puts the caller in `ctx.meta.caller`;
 * the access middleware (actors/access.ts) is the only place that decides whether that caller
 * may run an action.
 */
export const ROLES = ["viewer", "creator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(v: unknown): v is Role {
  return typeof v === "string" && (ROLES as readonly string[]).includes(v);
}

/** A verified token's holder. Guests are viewers with `guest: true` and no stored account. */
export interface Principal {
  userId: string;
  name: string;
  role: Role;
  guest: boolean;
  /** Session id: one per login; revoking it ends every token of that login on every node. */
  sid: string;
  /** Access token expiry, seconds since the epoch. */
  exp: number;
}

/** What the edge tells the actors about a call: a user, or nobody (public endpoints). */
export type Caller = { kind: "user"; principal: Principal } | { kind: "anonymous"; ip: string };

export interface CallMeta {
  caller?: Caller;
  requestId?: string;
}

/**
 * Access levels an action declares, weakest first. `public`: anyone, even without a token;
 * `guest`: any valid token; `viewer`/`creator`/`admin`: a registered account with at least that
 * role; `internal`: only other actors, never a request from the edge.
 */
export const ACCESS_LEVELS = ["public", "guest", "viewer", "creator", "admin", "internal"] as const;
export type Access = (typeof ACCESS_LEVELS)[number];
