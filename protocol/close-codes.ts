/**
 * WebSocket close codes, and what a client does after each (docs/protocol.md#close-codes):
 *   4000-4499  reconnect (with backoff; to any gateway)
 *   4500-4999  do not reconnect until the user acts (log in again, fix the client)
 * 1000/1001/1006/1009 keep their RFC 6455 meanings; 1009 (frame too large) is sent by uWS.
 * The gateway closes with these; the app's socket (web/app/src/socket.ts) follows reconnectAfter.
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

/** Every close but a normal one (1000) and the 45xx range is followed by a reconnect: 1001/1006
 *  and 40xx by definition, and codes a proxy or a restarting server may send (1005, 1011-1015)
 *  too. After 1009 the client must not resend the frame that was too large. */
export function shouldReconnect(code: number): boolean {
  return code !== 1000 && !(code >= 4500 && code < 5000);
}

/** The reconnect backoff, "full jitter": the n-th wait in a row is drawn uniformly from
 *  [0, min(0.5 s × 2^n, 30 s)). The clients of a gateway that died spread over its first half
 *  second instead of arriving together, and the first of them are back at once (a ±20% jitter
 *  around 0.5 s packed them into 200 ms, none sooner than 0.4 s). bench/storm.ts measures it. */
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_MAX_MS = 30_000;

/**
 * How long to wait before reconnecting after a close with `code`, on the `attempt`-th try in a
 * row (0 = the first since the socket was last open); undefined = do not reconnect. A draining
 * node (4000) is left within 250 ms; `random` in [0, 1) spreads clients apart.
 */
export function reconnectAfter(code: number, attempt: number, random: number): number | undefined {
  if (code === CLOSE.RECONNECT_ELSEWHERE && attempt === 0) return Math.floor(random * 250);
  if (!shouldReconnect(code)) return undefined;
  return fullJitter(attempt, random);
}

/** The `attempt`-th wait in a row (0 = the first), "full jitter": uniform in
 *  [0, min(baseMs × 2^attempt, maxMs)), `random` in [0, 1). Whole milliseconds. */
export function fullJitter(attempt: number, random: number, baseMs = RECONNECT_BASE_MS, maxMs = RECONNECT_MAX_MS): number {
  return Math.floor(Math.min(baseMs * 2 ** Math.min(attempt, 10), maxMs) * random);
}
