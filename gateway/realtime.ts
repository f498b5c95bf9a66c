/**
 * The WebSocket side of a gateway: the hub (every /ws connection) and the edges its messages use
 * (rooms fan-out, media signalling, analytics events), and the pushes the cluster sends to this
 * node's connections (room broadcasts, media notices, encode progress, alerts).
 *
 * Owner of: the WsHub and the three edges; drain() tells every socket to reconnect elsewhere.
 */
import type { TemplatedApp } from "@trufflesuite/uws-js-unofficial";
import type { LoggerInstance, ServiceBroker } from "moleculer";
import type { Alert } from "../analytics/alerts.js";
import type { Notification } from "../protocol/notifications.js";
import type { EncodeProgress } from "../actors/encoders/encoders.service.js";
import type { AppConfig } from "../lib/config.js";
import type { Principal } from "../lib/identity.js";
import type { MediaOut } from "../protocol/media.js";
import type { RoomOut } from "../protocol/rooms.js";
import type { JoinBatchAnswer } from "../protocol/rooms.js";
import { Admission } from "./admission.js";
import { AnalyticsEdge } from "./analytics-edge.js";
import { JoinBatcher } from "./join-batcher.js";
import { MediaEdge } from "./media-edge.js";
import { RoomsEdge } from "./rooms-edge.js";
import type { MessageEnv } from "./ws/message-def.js";
import { WsHub } from "./ws/hub.js";

export interface RealtimeDeps {
  cfg: AppConfig;
  broker: ServiceBroker;
  log: LoggerInstance;
  /** Calls an actor as a user (on a given node when asked). */
  asUser: (action: string, params: Record<string, unknown>, principal: Principal, nodeID?: string) => Promise<unknown>;
  verify: MessageEnv["verify"];
  verifySync: MessageEnv["verifySync"];
  mayWatch: MessageEnv["mayWatch"];
  /** A refused frame or upgrade, for the security log. */
  onSecurityReject: (code: string, who: { ip: string; userId?: string | undefined; what: string }) => void;
}

export class Realtime {
  readonly rooms: RoomsEdge;
  readonly media: MediaEdge;
  readonly events: AnalyticsEdge;
  readonly hub: WsHub;
  readonly joins: JoinBatcher;
  readonly admission: Admission;

  constructor(d: RealtimeDeps) {
    const { cfg, broker, log } = d;
    const internal = (action: string, params: Record<string, unknown>, nodeID?: string) => broker.call(action, params, nodeID === undefined ? {} : { nodeID });
    this.joins = new JoinBatcher({ maxBatch: cfg.gateway.joinBatch, call: (room, members) => broker.call<JoinBatchAnswer, object>("rooms.join", { id: room, members }) });
    this.admission = new Admission({ joinQueueMs: cfg.gateway.joinQueueMs, joinsPerIp: cfg.gateway.joinsPerIp, shedLagMs: cfg.gateway.shedLagMs, joins: this.joins });
    this.rooms = new RoomsEdge({
      joins: this.joins,
      nodeId: broker.nodeID,
      batchMs: cfg.rooms.fanoutBatchMs,
      reactionFlushMs: Math.max(20, Math.floor(cfg.rooms.reactionWindowMs / 2)),
      callInternal: internal,
      onError: (what, err) => log.debug(`rooms ${what} failed: ${String(err)}`),
      onRepaired: (room, n) => {
        broker.metrics.increment("esh.gateway.room.gaps.repaired.total", {}, 1);
        log.info({ room, events: n }, `room ${room}: ${n} lost broadcast event(s) fetched from the owner`);
      },
    });
    this.media = new MediaEdge({ nodeId: broker.nodeID, call: d.asUser, callInternal: internal, onError: (what, err) => log.debug(`media ${what} failed: ${String(err)}`) });
    this.events = new AnalyticsEdge(cfg, broker, () => this.hub.size);
    const env: MessageEnv = { admission: this.admission, rooms: this.rooms, media: this.media, events: this.events, nodeId: broker.nodeID, call: d.asUser, verify: d.verify, verifySync: d.verifySync, mayWatch: d.mayWatch };
    this.hub = new WsHub(cfg.gateway, env, {
      onReject: (code, who) => {
        broker.metrics.increment("esh.gateway.rejects.total", { code });
        if (who) d.onSecurityReject(code, who);
      },
      onMessage: (type) => broker.metrics.increment("esh.gateway.ws.messages.total", { type }),
      onError: (err) => log.error("WebSocket handler failed", err),
    });
  }

  attach(app: TemplatedApp): void {
    app.ws("/ws", this.hub.behavior());
    this.rooms.attach(app);
    this.media.attach(app);
  }

  /** Once listening: the analytics edge's flush timer. */
  start(): void {
    this.events.start();
    this.admission.start();
  }

  /** Stops batching and tells every socket to reconnect elsewhere; returns how many there were. */
  drain(): number {
    this.rooms.stop();
    this.events.stop();
    this.admission.stop();
    const n = this.hub.size;
    this.hub.drain();
    return n;
  }

  /** rooms.out: a room owner's broadcast, fanned out to this node's members of the room. */
  onRoomOut(out: RoomOut): void {
    this.rooms.onRoomOut(out);
  }

  /** media.out: a media node's notice for a stream. */
  onMediaOut(out: MediaOut, fromNode: string): void {
    this.media.onOut(out, fromNode);
  }

  /** encoders.progress: pushed to the owner's connections on this node. */
  onEncodeProgress(p: EncodeProgress): void {
    this.hub.toUser(p.ownerId, { t: "encode.progress", d: { streamId: p.streamId, status: p.status, percent: p.percent, ...(p.error ? { error: p.error } : {}) } });
  }

  /** notify.users: a notification for these users' connections on this node (`notify`). */
  onNotify(userIds: readonly string[], n: Notification): void {
    this.hub.toUsers(new Set(userIds), { t: "notify", d: n });
  }

  /** analytics.alert: pushed to admin connections on this node. */
  onAlert(alert: Alert): void {
    this.hub.toAdmins({ t: "alert", d: alert });
  }
}
