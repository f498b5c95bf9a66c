/**
 * WebSocket close codes. The range tells the client what to do (docs/protocol.md):
 *   4000-4499  reconnect (with backoff; to any gateway)
 *   4500-4999  do not reconnect until the user acts (log in again, fix the client)
 * 1000/1001/1006/1009 keep their RFC 6455 meanings; 1009 (frame too large) is sent by uWS.
 */
export const CLOSE = {
  /** The gateway is shutting down: reconnect, another node will take you. */
  RECONNECT_ELSEWHERE: 4000,
  /** You read too slowly and your send buffer overflowed: reconnect and resync. */
  SLOW_CONSUMER: 4001,
  /** Too many messages after repeated RATE_LIMITED errors: back off, then reconnect. */
  FLOODING: 4002,
  /** Your access token expired on this connection: refresh it, then reconnect. */
  TOKEN_EXPIRED: 4003,
  /** Too many malformed frames: a client bug; do not reconnect blindly. */
  PROTOCOL_ERROR: 4500,
  /** The session was logged out or revoked: log in again. */
  SESSION_REVOKED: 4501,
  /** Not allowed here (banned, or the role was lowered): do not reconnect. */
  FORBIDDEN: 4503,
} as const;

export function shouldReconnect(code: number): boolean {
  return code === 1001 || code === 1006 || (code >= 4000 && code < 4500);
}
