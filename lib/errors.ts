/**
 * Errors as data: every failure that crosses a boundary (action call, HTTP response, WebSocket
 * frame) is an AppError with a stable string code from one table (protocol/errors.ts). The code
 * decides the HTTP status and whether a client may retry; the message is for humans, `data` for
 * programs.
 *
 * AppError extends MoleculerError so it survives the trip between nodes: Moleculer serialises
 * name/message/code/type/data/retryable and the gateway maps `type` back through this table.
 */
import { Errors } from "moleculer";
import { ERROR_CODES, isErrorCode, type ErrorBody, type ErrorCode } from "../protocol/errors.js";

export { ERROR_CODES, isErrorCode, type ErrorBody, type ErrorCode };

/** Whether anything thrown (local or regenerated from another node) carries this code. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === "object" && err !== null && (err as { type?: unknown }).type === code;
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
