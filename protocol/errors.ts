/**
 * The error codes of the wire (docs/protocol.md#error-codes), one table: each code's HTTP status,
 * whether repeating the same request can succeed, and its meaning. Used in WebSocket `error`
 * frames, HTTP error bodies and between actors (lib/errors.ts builds AppError on it); the app
 * decides what to retry from it.
 */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, retryable: false, doc: "The input failed validation." },
  MALFORMED_FRAME: { status: 400, retryable: false, doc: "A WebSocket frame was not valid msgpack/JSON or not an object with a string `t`." },
  UNKNOWN_TYPE: { status: 400, retryable: false, doc: "The WebSocket message type is not in the protocol." },
  UNAUTHENTICATED: { status: 401, retryable: false, doc: "No token, or the token is malformed, forged or signed by an unknown key." },
  TOKEN_EXPIRED: { status: 401, retryable: true, doc: "The access token expired: refresh it and retry." },
  TOKEN_REVOKED: { status: 401, retryable: false, doc: "The session was logged out or revoked: log in again." },
  BAD_CREDENTIALS: { status: 401, retryable: false, doc: "Unknown user or wrong password (never says which)." },
  FORBIDDEN: { status: 403, retryable: false, doc: "The caller's role or ownership does not allow the action." },
  NOT_FOUND: { status: 404, retryable: false, doc: "No such resource or route." },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, doc: "The route exists but not with this method." },
  CONFLICT: { status: 409, retryable: false, doc: "The resource exists already, or was changed concurrently." },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, doc: "The body or frame is larger than the configured limit." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, doc: "The request body is not application/json." },
  RATE_LIMITED: { status: 429, retryable: true, doc: "Too many requests: wait `retryAfterMs` (when given) or `retryAfterSec`." },
  INTERNAL: { status: 500, retryable: true, doc: "A bug or an unexpected fault; it is logged with a request id." },
  UNAVAILABLE: { status: 503, retryable: true, doc: "The node is draining, overrun (then with `retryAfterMs`) or an actor is unreachable: retry, maybe elsewhere." },
  TIMEOUT: { status: 504, retryable: true, doc: "An actor did not answer in time." },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The wire shape of an error, for HTTP bodies and WebSocket `error` frames. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  data?: Record<string, unknown>;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

/** Whether repeating the request that got this code can succeed (unknown codes: no). */
export function isRetryable(code: string): boolean {
  return isErrorCode(code) && ERROR_CODES[code].retryable;
}

/** How long a refused request's error asks the client to wait, in ms: its `retryAfterMs`, else
 *  `retryAfterSec`; `fallbackMs` when it names no wait. */
export function retryDelayMs(data: Record<string, unknown> | undefined, fallbackMs: number): number {
  const ms = data?.retryAfterMs;
  if (typeof ms === "number" && ms >= 0) return ms;
  const sec = data?.retryAfterSec;
  return typeof sec === "number" && sec >= 0 ? sec * 1000 : fallbackMs;
}
