/**
 * One client's side of a live stream (a WebSocket connection, a WHIP or a WHEP session): its
 * transports, producers and consumers, and the load its consumers put on a worker. The peer is
 * the one place that load is counted: `track` adds a consumer's share, and the consumer's close
 * or the peer's `close()` gives it back, once. `close()` is idempotent and also closes what the
 * peer owns (its transports, and for WHEP the router made for it alone).
 */
import type { types } from "mediasoup";
import type { WorkerSlot } from "./worker-pool.js";

export type PeerRole = "broadcaster" | "viewer";

/** A router of a stream on one worker, and the consumers on it that peers account for. */
export interface Hosted {
  readonly router: types.Router;
  readonly slot: WorkerSlot;
  consumers: number;
}

/** Who a peer is: the user, their login session (revoking it ends the peer) and, for WHIP/WHEP
 *  sessions, the client's IP as the gateway saw it (per-IP caps). */
export interface PeerOwner {
  readonly userId: string;
  readonly sid: string;
  readonly ip: string;
}

export class Peer implements PeerOwner {
  readonly id: string;
  readonly userId: string;
  readonly sid: string;
  readonly ip: string;
  readonly role: PeerRole;
  readonly host: Hosted;
  /** A router made for this peer alone (WHEP): closed with the peer. */
  readonly ownRouter: boolean;
  readonly transports = new Map<string, types.WebRtcTransport>();
  /** An encoder's plain RTP legs (RTMP/SRT ingest through a local ffmpeg). */
  readonly plain = new Map<string, types.PlainTransport>();
  readonly consumers = new Map<string, types.Consumer>();
  readonly producers = new Map<string, types.Producer>();
  #closed = false;

  constructor(id: string, who: PeerOwner, role: PeerRole, host: Hosted, ownRouter: boolean) {
    this.id = id;
    this.userId = who.userId;
    this.sid = who.sid;
    this.ip = who.ip;
    this.role = role;
    this.host = host;
    this.ownRouter = ownRouter;
  }

  get closed(): boolean {
    return this.#closed;
  }

  addTransport(t: types.WebRtcTransport): void {
    this.transports.set(t.id, t);
    t.observer.once("close", () => this.transports.delete(t.id));
  }

  addPlain(t: types.PlainTransport): void {
    this.plain.set(t.id, t);
    t.observer.once("close", () => this.plain.delete(t.id));
  }

  addProducer(p: types.Producer): void {
    this.producers.set(p.id, p);
    p.observer.once("close", () => this.producers.delete(p.id));
  }

  /** A consumer of this peer: its load is on the peer's host until it or the peer closes. */
  track(c: types.Consumer): void {
    if (this.#closed) {
      // Made while the peer was leaving (its consume was in flight): mediasoup does not close a
      // consumer whose transport closed during the call, so close it here and count nothing.
      c.close();
      return;
    }
    this.consumers.set(c.id, c);
    this.host.consumers++;
    this.host.slot.consumers++;
    c.observer.once("close", () => this.#release(c.id));
  }

  /** Bytes received so far on its producers (the media watchdog); undefined when a worker did
   *  not answer (that says nothing about the peer). */
  async receivedBytes(): Promise<number | undefined> {
    let bytes = 0;
    for (const p of [...this.producers.values()]) {
      const stats = await p.getStats().catch(() => undefined);
      if (!stats) return undefined;
      for (const st of stats) bytes += st.byteCount;
    }
    return bytes;
  }

  /** Closes everything the peer owns and gives its load back (once, whatever closes first). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.consumers.keys()]) this.#release(id);
    for (const t of [...this.transports.values()]) t.close();
    for (const t of [...this.plain.values()]) t.close();
    if (this.ownRouter) this.host.router.close();
  }

  #release(consumerId: string): void {
    if (!this.consumers.delete(consumerId)) return;
    this.host.consumers--;
    this.host.slot.consumers--;
  }
}
