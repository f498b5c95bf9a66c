/** The gateway as an actor: starts the uWS edge with the broker, drains it on stop. */
import type { Context, Service, ServiceSchema } from "moleculer";
import { reapNode } from "../lib/node-reaper.js";
import type { AppConfig } from "../lib/config.js";
import type { BlobStore } from "../blobs/index.js";
import type { Revocation } from "../lib/revocations.js";
import type { RoomOut } from "../protocol/rooms.js";
import { Gateway } from "./gateway.js";
import type { Alert } from "../analytics/alerts.js";
import type { MediaOut } from "../protocol/media.js";
import type { Notification } from "../protocol/notifications.js";
import type { EncodeProgress } from "../actors/encoders/encoders.service.js";

/** `onStarted` hands the Gateway to main.ts, which drains it before stopping the broker. */
export function gatewayService(cfg: AppConfig, blobs: BlobStore, onStarted?: (gw: Gateway) => void): ServiceSchema {
  let gw: Gateway;
  return {
    name: "gateway",
    events: {
      "sessions.revoked": { handler: (ctx: Context<{ list: Revocation[] }>) => gw.onRevoked(ctx.params.list) },
      "sessions.keys.changed": { handler: () => gw.onKeysChanged() },
      "rooms.out": { handler: (ctx: Context<RoomOut>) => gw.realtime.onRoomOut(ctx.params) },
      // A stream deleted, or its visibility or grants changed.
      "streams.changed": { handler: (ctx: Context<{ id: string }>) => gw.onStreamChanged(ctx.params.id) },
      "edges.load": { handler: (ctx: Context<{ url: string; load: number }>) => gw.onEdgeLoad(ctx.params) },
      "encoders.progress": { handler: (ctx: Context<EncodeProgress>) => gw.realtime.onEncodeProgress(ctx.params) },
      "analytics.alert": { handler: (ctx: Context<Alert>) => gw.realtime.onAlert(ctx.params) },
      "notify.users": { handler: (ctx: Context<{ userIds: string[]; notification: Notification }>) => gw.realtime.onNotify(ctx.params.userIds, ctx.params.notification) },
      "media.out": { handler: (ctx: Context<MediaOut>) => gw.realtime.onMediaOut(ctx.params, ctx.nodeID ?? "") },
      // A rooms node found a node dead (actors/rooms/liveness.ts): out of this registry now.
      "rooms.nodeDead": { handler(this: Service, ctx: Context<{ nodeID: string }>) {
        reapNode(this.broker, ctx.params.nodeID);
      } },
      // A sessions actor appeared (start-up order, a node joined): load keys now, not on the next timer.
      "$services.changed": { handler: () => gw.onServicesChanged() },
    },
    async started() {
      gw = new Gateway(cfg, this.broker, blobs);
      await gw.start();
      onStarted?.(gw);
    },
    async stopped() {
      await gw.drain();
    },
  };
}
