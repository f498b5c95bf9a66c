/**
 * Errors as data: every failure that crosses a boundary (action call, HTTP response, WebSocket
 * frame) is an AppError with a stable string code from one table. The code decides the HTTP
 * status and whether a client may retry; the message is for humans, `data` for programs.
 *
 * AppError extends MoleculerError so it survives the trip between nodes: Moleculer serialises
 * name/message/code/type/data/retryable and the gateway maps `type` back through this table.
 */
import { Errors } from "moleculer";

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
  RATE_LIMITED: { status: 429, retryable: true, doc: "Too many requests: wait `retryAfterSec` seconds." },
  INTERNAL: { status: 500, retryable: true, doc: "A bug or an unexpected fault; it is logged with a request id." },
  UNAVAILABLE: { status: 503, retryable: true, doc: "The node is draining or an actor is unreachable: retry, maybe elsewhere." },
  TIMEOUT: { status: 504, retryable: true, doc: "An actor did not answer in time." },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether anything thrown (local or regenerated from another node) carries this code. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === "object" && err !== null && (err as { type?: unknown }).type === code;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

export class AppError extends Errors.MoleculerError {
  declare readonly type: ErrorCode;

  constructor(code: ErrorCode, message: string, data?: Record<string, unknown>) {
    const spec = ERROR_CODES[code];
    super(message, spec.status, code, data);
    this.name = "AppError";
    this.retryable = spec.retryable;
  }
}

/** The wire shape of an error, for HTTP bodies and WebSocket `err` frames. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  data?: Record<string, unknown>;
}

/**
 * Maps anything thrown (our AppError, a regenerated remote error, Moleculer's own errors, a bug)
 * to a code from the table. Unknown failures become INTERNAL and keep their message out of the
 * response: the caller gets a request id to quote, the log gets the details.
 */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof Error) {
    const e = err as Error & { type?: unknown; code?: unknown; data?: unknown };
    if (isErrorCode(e.type)) {
      const body: ErrorBody = { code: e.type, message: e.message };
      if (isRecord(e.data)) body.data = e.data;
      return body;
    }
    const mapped = mapMoleculerError(e);
    if (mapped) return mapped;
  }
  return { code: "INTERNAL", message: "Internal error" };
}

function mapMoleculerError(e: Error & { type?: unknown; data?: unknown }): ErrorBody | undefined {
  switch (e.name) {
    case "ValidationError":
      return { code: "BAD_REQUEST", message: "Validation failed", data: { errors: e.data } };
    case "RequestTimeoutError":
    case "RequestSkippedError": // the call's deadline passed before a nested call could start
      return { code: "TIMEOUT", message: "The actor did not answer in time" };
    case "RequestRejectedError": // circuit breaker open for that endpoint
      return { code: "UNAVAILABLE", message: "The actor is failing: retry shortly" };
    case "ServiceNotFoundError":
    case "ServiceNotAvailableError":
    case "BrokerDisconnectedError":
    case "QueueIsFullError":
      return { code: "UNAVAILABLE", message: "The actor is not reachable right now" };
    case "MaxCallLevelError":
      return { code: "INTERNAL", message: "Internal error" };
    default:
      return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}
