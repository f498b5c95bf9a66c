/**
 * The WebSocket message types a client may send, one small handler each, each with a schema.
 * A handler returns the answer's payload (sent as `{t:"ok", id, d}`) or throws an AppError
 * (sent as `{t:"error", id, d:{code,message}}`). Later features add their types here.
 */
import { createRequire } from "node:module";
import { ROOM_FIELDS, type Reaction } from "../../protocol/rooms.js";
import { AppError } from "../../lib/errors.js";
import { MEDIA_MESSAGES } from "./media-messages.js";
import { EVENT_MESSAGES } from "./event-messages.js";
import { def, type MessageDef, type MessageEnv } from "./message-def.js";
import type { Connection } from "./connection.js";
import { ID_SCHEMA } from "../../protocol/ids.js";

const MAX_ROOMS_PER_CONNECTION = 10;

type Check = (d: unknown) => true | { message?: string; field?: string }[];
// fastest-validator is CommonJS (module.exports = class); its typings claim an ES default export.
const Validator = createRequire(import.meta.url)("fastest-validator") as new () => { compile(schema: object): Check };
const v = new Validator();
const id = ID_SCHEMA;
const F = ROOM_FIELDS;

export const MESSAGES = {
  ping: def<{ ts?: number }>({ ts: { type: "number", optional: true } }, (d) => ({ ts: d.ts ?? null, serverTs: Date.now() })),

  whoami: def({}, (_d, conn, env) => ({ ...conn.principal, nodeId: env.nodeId })),

  /** Replace this connection's token before it expires; the identity must stay the same. */
  auth: def<{ token: string }>({ token: { type: "string", min: 10, max: 4096 } }, async (d, conn, env) => {
    const next = await env.verify(d.token);
    if (next.userId !== conn.principal.userId) throw new AppError("FORBIDDEN", "A connection cannot change its user: reconnect instead");
    conn.principal = next;
    return { exp: next.exp, role: next.role };
  }),

  "streams.list": def<{ status?: string; limit?: number }>(
    { status: { type: "string", optional: true, max: 16 }, limit: { type: "number", integer: true, min: 1, max: 200, optional: true } },
    (d, conn, env) => env.call("streams.list", d, conn.principal),
  ),

  "streams.get": def<{ id: string }>({ id }, (d, conn, env) => env.call("streams.get", d, conn.principal)),

  /** Join a room: history (or what was missed since `since`), polls, presence; then live. */
  "room.join": def<{ room: string; since?: number }>({ room: id, since: F.since }, async (d, conn, env) => {
    const ws = conn.socket;
    if (!ws) throw new AppError("INTERNAL", "Connection not ready");
    const joining = env.rooms.beginJoin(conn, d.room, MAX_ROOMS_PER_CONNECTION);
    try {
      const done = env.admission.admitJoin(conn.ip); // overrun: refused with retryAfterMs, before any work
      try {
        // Before the socket hears anything of the room: a private stream's chat is its content.
        await env.mayWatch(d.room, conn.principal);
        if (!isOpen(conn)) throw new AppError("CONFLICT", "Connection closed while joining");
        return await env.rooms.join(ws, d.room, conn.principal, d.since);
      } finally {
        done();
      }
    } finally {
      joining();
    }
  }),

  "room.leave": def<{ room: string }>({ room: id }, (d, conn, env) => {
    if (conn.socket && conn.rooms.has(d.room)) env.rooms.unsubscribe(conn.socket, d.room);
    return { left: d.room };
  }),

  "room.chat": def<{ room: string; text: string; cid?: string }>({ room: id, text: F.text, cid: F.cid }, (d, conn, env) =>
    env.call("rooms.chat", { id: inRoom(conn, d.room), text: d.text, ...(d.cid === undefined ? {} : { cid: d.cid }) }, conn.principal),
  ),

  /** Reactions are summed on this node and sent to the room's owner once per window. */
  "room.react": def<{ room: string; emoji: Reaction }>({ room: id, emoji: F.emoji }, (d, conn, env) => {
    env.rooms.addReaction(inRoom(conn, d.room), d.emoji);
    return { ok: true };
  }),

  "room.vote": def<{ room: string; pollId: string; option: number }>({ room: id, pollId: F.pollId, option: F.option }, (d, conn, env) =>
    env.call("rooms.vote", { id: inRoom(conn, d.room), pollId: d.pollId, option: d.option }, conn.principal),
  ),

  "room.poll.create": def<{ room: string; question: string; options: string[] }>(
    { room: id, question: F.question, options: F.options },
    (d, conn, env) => env.call("rooms.pollCreate", { id: d.room, question: d.question, options: d.options }, conn.principal),
  ),

  "room.poll.close": def<{ room: string; pollId: string }>({ room: id, pollId: F.pollId }, (d, conn, env) => env.call("rooms.pollClose", { id: d.room, pollId: d.pollId }, conn.principal)),

  "room.delete": def<{ room: string; seq: number }>({ room: id, seq: F.seq }, (d, conn, env) => env.call("rooms.deleteMessage", { id: d.room, seq: d.seq }, conn.principal)),

  "room.mute": def<{ room: string; userId: string; seconds: number }>({ room: id, userId: F.userId, seconds: F.muteSeconds }, (d, conn, env) =>
    env.call("rooms.mute", { id: d.room, userId: d.userId, seconds: d.seconds }, conn.principal),
  ),

  "room.ban": def<{ room: string; userId: string }>({ room: id, userId: F.userId }, (d, conn, env) => env.call("rooms.ban", { id: d.room, userId: d.userId }, conn.principal)),

  ...MEDIA_MESSAGES,
  ...EVENT_MESSAGES,
} satisfies Record<string, MessageDef<never>>;

export type MessageType = keyof typeof MESSAGES;

const checkers = new Map<string, Check>(Object.entries(MESSAGES).map(([t, m]) => [t, v.compile(m.schema)]));

/** Read through a function: a connection may close during any await of a handler. */
const isOpen = (conn: Connection): boolean => !conn.closed;

function inRoom(conn: Connection, room: string): string {
  if (!conn.rooms.has(room)) throw new AppError("BAD_REQUEST", "Join the room first (room.join)");
  return room;
}

/** Validates and runs one message. Never throws: rejects with UNKNOWN_TYPE / BAD_REQUEST / the
 *  handler's error (a synchronous throw inside a uWS callback would take the process down). */
export async function runMessage(t: string, d: unknown, conn: Connection, env: MessageEnv): Promise<unknown> {
  await Promise.resolve();
  return dispatch(t, d, conn, env);
}

function dispatch(t: string, d: unknown, conn: Connection, env: MessageEnv): unknown {
  const check = checkers.get(t);
  if (!check || !Object.hasOwn(MESSAGES, t)) throw new AppError("UNKNOWN_TYPE", `Unknown message type "${t.slice(0, 64)}"`);
  const payload = d === undefined ? {} : d;
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw new AppError("BAD_REQUEST", "`d` must be an object");
  const result = check(payload);
  if (result !== true) throw new AppError("BAD_REQUEST", "Invalid message", { errors: result.map((e) => ({ field: e.field, message: e.message })) });
  const m = MESSAGES[t as MessageType] as MessageDef<unknown>;
  return m.handler(payload, conn, env);
}
