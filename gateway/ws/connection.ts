/** One WebSocket's state in the gateway, as its message handlers and the edges see it. */
import type { WebSocket } from "@trufflesuite/uws-js-unofficial";
import type { Principal } from "../../lib/identity.js";
import type { WireFormat } from "./codec.js";

export interface Connection {
  principal: Principal;
  readonly id: number;
  readonly format: WireFormat;
  /** Rooms this connection has joined. */
  readonly rooms: Set<string>;
  /** Streams whose media this connection joined, and the media node hosting each. */
  readonly media: Map<string, string>;
  /** Streams whose media.join is under way (they count against the per-connection cap). */
  readonly mediaJoining: Set<string>;
  /** The client's address (behind trusted proxies: the forwarded one). */
  readonly ip: string;
  /** The User-Agent of the upgrade request (device info for analytics). */
  readonly userAgent: string;
  /** The socket, for room subscriptions; `closed` once uWS closed it (never touch it then). */
  socket?: WebSocket<Connection>;
  closed: boolean;
}
