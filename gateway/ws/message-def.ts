/**
 * How a WebSocket message type is declared: its schema (strict: unknown fields are refused)
 * and its one handler. Kept apart from messages.ts so every file of message types
 * (messages.ts, media-messages.ts) can use it without an import cycle.
 */
import type { Connection, MessageEnv } from "./messages.js";

export interface MessageDef<P> {
  schema: Record<string, unknown>;
  handler: (d: P, conn: Connection, env: MessageEnv) => unknown;
}

/** Ids of streams, rooms, users and polls as they travel in messages. */
export const ID_SCHEMA = { type: "string", min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/ };

export function def<P>(schema: Record<string, unknown>, handler: MessageDef<P>["handler"]): MessageDef<P> {
  return { schema: { $$strict: true, ...schema }, handler };
}
