/**
 * How a WebSocket message type is declared: its schema (strict: unknown fields are refused)
 * and its one handler. Kept apart from messages.ts so every file of message types
 * (messages.ts, media-messages.ts, event-messages.ts) can use it without an import cycle.
 */
import type { Principal } from "../../lib/identity.js";
import type { Admission } from "../admission.js";
import type { AnalyticsEdge } from "../analytics-edge.js";
import type { MediaEdge } from "../media-edge.js";
import type { RoomsEdge } from "../rooms-edge.js";
import type { Connection } from "./connection.js";

/** What a handler may use besides its connection. */
export interface MessageEnv {
  /** Calls an actor as this connection's user. */
  call(action: string, params: Record<string, unknown>, principal: Principal): Promise<unknown>;
  /** NOT_FOUND unless this user may watch the stream whose room this is (private streams). */
  mayWatch(streamId: string, principal: Principal): Promise<void>;
  /** Verifies a token (signature, expiry, revocation). */
  verify(token: string): Promise<Principal>;
  /** verify() without I/O; undefined when it needs some (an unknown key id). */
  verifySync(token: string): Principal | undefined;
  nodeId: string;
  /** Load shedding: joins and upgrades refused with a retry-after when this node is overrun. */
  admission: Admission;
  rooms: RoomsEdge;
  media: MediaEdge;
  events: AnalyticsEdge;
}


export interface MessageDef<P> {
  schema: Record<string, unknown>;
  handler: (d: P, conn: Connection, env: MessageEnv) => unknown;
}

export function def<P>(schema: Record<string, unknown>, handler: MessageDef<P>["handler"]): MessageDef<P> {
  return { schema: { $$strict: true, ...schema }, handler };
}
