/**
 * The gateway's side of live media signalling. A connection joins a stream's media once per
 * stream: the streams actor says which media node serves it (`streams.place`: the origin, or a
 * relay node fed from the origin when the origin is full), every later call
 * for that stream goes to that node, and the node's notices (new producer, producer gone,
 * stream closed) arrive once per gateway (`media.out`) and go out on the uWS topic
 * `media/<id>/<m|j>`. When the socket closes, its peers leave their streams.
 */
import type { TemplatedApp, WebSocket } from "@trufflesuite/uws-js-unofficial";
import type { MediaOut } from "../protocol/media.js";
import { AppError } from "../lib/errors.js";
import type { Principal } from "../lib/identity.js";
import { encodeFrame, type WireFormat } from "./ws/codec.js";
import type { Connection } from "./ws/connection.js";

type Ws = WebSocket<Connection>;

export interface MediaEdgeDeps {
  nodeId: string;
  /** Calls an actor as this user, on a given node when `nodeID` is set. */
  call(action: string, params: Record<string, unknown>, principal: Principal, nodeID?: string): Promise<unknown>;
  /** Calls an actor as the gateway itself (cleanup when a socket closed). */
  callInternal(action: string, params: Record<string, unknown>, nodeID: string): Promise<unknown>;
  onError(what: string, err: unknown): void;
}

const topic = (streamId: string, format: WireFormat): string => `media/${streamId}/${format === "json" ? "j" : "m"}`;
export const MAX_MEDIA_STREAMS_PER_CONNECTION = 4;

export class MediaEdge {
  readonly #deps: MediaEdgeDeps;
  #app: TemplatedApp | undefined;
  /** This gateway's connections in each stream's media (for notices meant for one media node's clients). */
  readonly #members = new Map<string, Set<Ws>>();

  constructor(deps: MediaEdgeDeps) {
    this.#deps = deps;
  }

  attach(app: TemplatedApp): void {
    this.#app = app;
  }

  peerId(conn: Connection): string {
    return `${this.#deps.nodeId}/ws/${conn.id}`;
  }

  /** Places the stream, joins its media node and subscribes the socket to the stream's notices. */
  async join(conn: Connection, streamId: string, role: "broadcaster" | "viewer"): Promise<unknown> {
    const ws = conn.socket;
    if (!ws) throw new AppError("INTERNAL", "Connection not ready");
    // Checked and reserved before the first await: pipelined joins cannot all pass the cap.
    if (conn.mediaJoining.has(streamId)) throw new AppError("CONFLICT", "Already joining this stream");
    if (!conn.media.has(streamId) && conn.media.size + conn.mediaJoining.size >= MAX_MEDIA_STREAMS_PER_CONNECTION) throw new AppError("BAD_REQUEST", `At most ${MAX_MEDIA_STREAMS_PER_CONNECTION} streams per connection`);
    conn.mediaJoining.add(streamId);
    try {
      return await this.#join(conn, ws, streamId, role);
    } finally {
      conn.mediaJoining.delete(streamId);
    }
  }

  async #join(conn: Connection, ws: Ws, streamId: string, role: "broadcaster" | "viewer"): Promise<unknown> {
    const { nodeID, origin } = (await this.#deps.call("streams.place", { id: streamId, role }, conn.principal)) as { nodeID: string; origin?: string };
    const params = { streamId, peerId: this.peerId(conn), role, ...(origin === undefined ? {} : { origin }) };
    const answer = await this.#deps.call("media.join", params, conn.principal, nodeID);
    if (conn.closed) {
      this.#leave(conn, streamId, nodeID);
      throw new AppError("CONFLICT", "Connection closed while joining");
    }
    conn.media.set(streamId, nodeID);
    ws.subscribe(topic(streamId, conn.format));
    let set = this.#members.get(streamId);
    if (!set) this.#members.set(streamId, (set = new Set()));
    set.add(ws);
    return answer;
  }

  /** A signalling call for a stream this connection joined. */
  call(conn: Connection, streamId: string, action: string, params: Record<string, unknown>): Promise<unknown> {
    const nodeID = conn.media.get(streamId);
    if (nodeID === undefined) return Promise.reject(new AppError("BAD_REQUEST", "Join the stream's media first (media.join)"));
    return this.#deps.call(`media.${action}`, { ...params, streamId, peerId: this.peerId(conn) }, conn.principal, nodeID);
  }

  leave(conn: Connection, streamId: string): boolean {
    const nodeID = conn.media.get(streamId);
    if (nodeID === undefined) return false;
    if (conn.socket) conn.socket.unsubscribe(topic(streamId, conn.format));
    this.#leave(conn, streamId, nodeID);
    return true;
  }

  /** The socket closed (uWS already dropped its subscriptions): its peers leave. */
  closed(ws: Ws): void {
    const conn = ws.getUserData();
    for (const [streamId, nodeID] of [...conn.media]) this.#leave(conn, streamId, nodeID, ws);
  }

  /** A media node's notice: once per gateway, published to the stream's local topic — except
   *  `media.closed`, which concerns only the clients that node serves (a relay node's worker
   *  dying says nothing to the origin's viewers). */
  onOut(out: MediaOut, fromNode: string): void {
    const app = this.#app;
    if (!app) return;
    if (out.notice.t === "media.closed") return this.#toClientsOf(out, fromNode);
    for (const format of ["msgpack", "json"] as const) {
      const t = topic(out.streamId, format);
      if (app.numSubscribers(t) > 0) app.publish(t, encodeFrame(out.notice, format), format === "msgpack");
    }
  }

  #toClientsOf(out: MediaOut, fromNode: string): void {
    const frames = new Map<WireFormat, Buffer | string>();
    const only = out.peers === undefined ? undefined : new Set(out.peers);
    for (const ws of this.#members.get(out.streamId) ?? []) {
      const conn = ws.getUserData();
      if (conn.closed || conn.media.get(out.streamId) !== fromNode) continue;
      if (only && !only.has(this.peerId(conn))) continue; // another worker's viewers: they play on
      let f = frames.get(conn.format);
      if (f === undefined) frames.set(conn.format, (f = encodeFrame(out.notice, conn.format)));
      ws.send(f, conn.format === "msgpack");
    }
  }

  #leave(conn: Connection, streamId: string, nodeID: string, ws: Ws | undefined = conn.socket): void {
    conn.media.delete(streamId);
    const set = this.#members.get(streamId);
    if (set && ws) set.delete(ws);
    if (set?.size === 0) this.#members.delete(streamId);
    this.#deps.callInternal("media.leave", { streamId, peerId: this.peerId(conn) }, nodeID).catch((err: unknown) => this.#deps.onError("leave", err));
  }
}
