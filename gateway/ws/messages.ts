/**
 * The WebSocket message types a client may send, one small handler each, each with a schema.
 * A handler returns the answer's payload (sent as `{t:"ok", id, d}`) or throws an AppError
 * (sent as `{t:"error", id, d:{code,message}}`). Later features add their types here.
 */
import { createRequire } from "node:module";
import { AppError } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";

export interface Connection {
  principal: Principal;
  readonly id: number;
}

export interface MessageEnv {
  /** Calls an actor as this connection's user. */
  call(action: string, params: Record<string, unknown>, principal: Principal): Promise<unknown>;
  /** Verifies a token (signature, expiry, revocation). */
  verify(token: string): Promise<Principal>;
  nodeId: string;
}

interface MessageDef<P> {
  schema: Record<string, unknown>;
  handler: (d: P, conn: Connection, env: MessageEnv) => unknown;
}

type Check = (d: unknown) => true | { message?: string; field?: string }[];
// fastest-validator is CommonJS (module.exports = class); its typings claim an ES default export.
const Validator = createRequire(import.meta.url)("fastest-validator") as new () => { compile(schema: object): Check };
const v = new Validator();
const id = { type: "string", min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/ };

function def<P>(schema: Record<string, unknown>, handler: MessageDef<P>["handler"]): MessageDef<P> {
  return { schema: { $$strict: true, ...schema }, handler };
}

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
} satisfies Record<string, MessageDef<never>>;

export type MessageType = keyof typeof MESSAGES;

const checkers = new Map<string, Check>(Object.entries(MESSAGES).map(([t, m]) => [t, v.compile(m.schema)]));

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
