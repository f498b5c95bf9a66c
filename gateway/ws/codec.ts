/**
 * WebSocket frame codec. Binary frames are msgpack, text frames JSON (for debugging); both
 * decode to the same ClientFrame. Server frames go out in the format the client asked for at
 * connect (`?format=json`, default msgpack), encoded once per frame.
 */
import { wireCodec } from "../../lib/serializer.js";
import { AppError, type ErrorBody } from "../../lib/errors.js";

export interface ClientFrame {
  /** Message type, e.g. "ping", "auth", "streams.list". */
  t: string;
  /** Request id; echoed on the answer. */
  id?: string | number;
  /** Payload. */
  d?: unknown;
}

export type ServerFrame =
  | { t: "ok"; id: string | number; d: unknown }
  | { t: "error"; id?: string | number; d: ErrorBody }
  | { t: string; d: unknown };

export type WireFormat = "msgpack" | "json";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes a frame; the ArrayBuffer is only valid during the uWS callback, so this copies. */
export function decodeFrame(message: ArrayBuffer, isBinary: boolean): ClientFrame {
  let value: unknown;
  try {
    value = isBinary ? wireCodec.unpack(Buffer.from(message.slice(0))) : JSON.parse(utf8.decode(message));
  } catch {
    throw new AppError("MALFORMED_FRAME", isBinary ? "Frame is not valid msgpack" : "Frame is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new AppError("MALFORMED_FRAME", "Frame must be an object");
  const f = value as Record<string, unknown>;
  if (typeof f.t !== "string" || f.t.length === 0 || f.t.length > 64) throw new AppError("MALFORMED_FRAME", "Frame needs a string type `t`");
  const id = f.id;
  if (id !== undefined && !(typeof id === "string" && id.length <= 64) && !(typeof id === "number" && Number.isSafeInteger(id))) {
    throw new AppError("MALFORMED_FRAME", "`id` must be a short string or an integer");
  }
  return id === undefined ? { t: f.t, d: f.d } : { t: f.t, id, d: f.d };
}

export function encodeFrame(frame: ServerFrame, format: WireFormat): Buffer | string {
  return format === "json" ? JSON.stringify(frame) : wireCodec.pack(frame);
}
