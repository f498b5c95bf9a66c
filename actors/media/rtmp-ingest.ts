/**
 * The RTMP listener of a media node and the ingests it runs. A publish is accepted when its key
 * names a live stream (streams.checkIngestKey), no other ingest of that stream is running, and
 * this node is (or becomes) the stream's origin; each refusal is answered to the encoder before
 * any media flows, with a security log line for a wrong key. An accepted ingest ends when the
 * encoder leaves (then the grace period runs, as for any broadcaster), when its key is rotated or
 * revoked, when its owner is revoked, or when it breaks a cap.
 *
 * Owner of: the RtmpServer and every FlvIngest it accepted.
 */
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { hasCode } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";
import { SecurityLog } from "../../lib/logging.js";
import type { AppConfig } from "../../lib/config.js";
import { FlvIngest, type IngestStats } from "../../media/flv-ingest.js";
import { RtmpServer, type PublishRequest, type PublishVerdict } from "../../media/rtmp-server.js";
import type { IngestGrant } from "../../protocol/ingest.js";
import type { MediaNode } from "./media-node.js";

interface Running {
  ownerId: string;
  /** Unset while the publish is being accepted. */
  ingest: FlvIngest | undefined;
  end(why: string): void;
}

export class RtmpIngest {
  readonly #cfg: AppConfig["media"];
  readonly #node: MediaNode;
  readonly #broker: ServiceBroker;
  readonly #sec: SecurityLog;
  readonly #running = new Map<string, Running>();
  #server: RtmpServer | undefined;
  port = 0;

  constructor(cfg: AppConfig["media"], node: MediaNode, broker: ServiceBroker) {
    this.#cfg = cfg;
    this.#node = node;
    this.#broker = broker;
    this.#sec = SecurityLog.of(broker);
  }

  /** Listens when media.rtmpPort is set; answers the port (0 = off). */
  async start(host: string): Promise<number> {
    if (this.#cfg.rtmpPort === 0) return 0;
    const log = this.#broker.getLogger("rtmp");
    this.#server = new RtmpServer((req) => this.#publish(req), (level, msg) => log[level](msg));
    this.port = await this.#server.listen(this.#cfg.rtmpPort, host);
    log.info(`RTMP ingest on ${host}:${String(this.port)} (rtmp://host:${String(this.port)}/live/<stream key>)`);
    return this.port;
  }

  stop(): void {
    for (const r of [...this.#running.values()]) r.end("the media node is stopping");
    this.#server?.close();
  }

  /** The stream's key was rotated or revoked: its ingest ends now. */
  keyChanged(streamId: string): void {
    this.#running.get(streamId)?.end("the stream key was rotated or revoked");
  }

  /** The owner's sessions were revoked (role change, logout everywhere, admin): their ingests end. */
  ownerRevoked(userId: string): void {
    for (const r of [...this.#running.values()]) if (r.ownerId === userId) r.end("the stream's owner was revoked");
  }

  stats(streamId: string): IngestStats | undefined {
    return this.#running.get(streamId)?.ingest?.stats;
  }

  async #publish(req: PublishRequest): Promise<PublishVerdict> {
    if (req.app !== "live") return { refused: "publish to rtmp://host:port/live with the stream key as the key" };
    let grant: IngestGrant;
    try {
      grant = await this.#broker.call<IngestGrant, { key: string }>("streams.checkIngestKey", { key: req.key });
    } catch (err) {
      if (!hasCode(err, "FORBIDDEN") && !hasCode(err, "CONFLICT") && !hasCode(err, "BAD_REQUEST")) throw err;
      this.#sec.event("auth.failed", { via: "rtmp", ip: req.remote.replace(/:\d+$/, ""), what: "stream key", code: "FORBIDDEN" });
      return { refused: hasCode(err, "CONFLICT") ? (err as Error).message : "wrong, rotated or revoked stream key" };
    }
    const id = grant.streamId;
    if (this.#running.has(id)) return { refused: "this stream is already being published" };
    // Reserved before the next await: two publishes at once cannot both pass.
    const reserved: Running = { ownerId: grant.ownerId, ingest: undefined, end: (why) => req.end(why) };
    this.#running.set(id, reserved);
    try {
      return await this.#accept(req, grant, reserved);
    } catch (err) {
      if (this.#running.get(id) === reserved) this.#running.delete(id);
      throw err;
    }
  }

  async #accept(req: PublishRequest, grant: IngestGrant, reserved: Running): Promise<PublishVerdict> {
    const id = grant.streamId;
    const release = () => {
      if (this.#running.get(id) === reserved) this.#running.delete(id);
    };
    const owner: Principal = { userId: grant.ownerId, name: grant.ownerName, role: grant.ownerRole, guest: false, sid: `ingest:${id}`, exp: Math.floor(Date.now() / 1000) + 60 };
    const origin = await this.#broker.call<{ nodeID: string }, object>("streams.place", { id, role: "broadcaster", prefer: this.#broker.nodeID }, { meta: { caller: { kind: "user", principal: owner } } });
    if (origin.nodeID !== this.#broker.nodeID) {
      release();
      return { refused: `this stream is served by another media node (${origin.nodeID}): publish there` };
    }
    const live = await this.#node.open(id);
    const peerId = `rtmp-${randomBytes(6).toString("hex")}`;
    const log = this.#broker.getLogger("rtmp");
    const ingest = new FlvIngest({
      stream: live,
      peerId,
      who: { userId: grant.ownerId, sid: owner.sid, ip: req.remote.replace(/:\d+$/, "") },
      maxKbps: this.#cfg.ingestMaxKbps,
      maxHeight: this.#cfg.ingestMaxHeight,
      end: (why) => req.end(why),
      onLive: () => {
        this.#node.broadcasterJoined(id);
        this.#broker.call("streams.setStatus", { id, status: "live" }).catch((err: unknown) => {
          if (!hasCode(err, "CONFLICT")) log.warn(`rtmp: could not mark ${id} live: ${String(err)}`);
        });
      },
      onClosed: (why) => {
        release();
        log.info(`rtmp ingest of ${id} ended: ${why}`);
        this.#node.left(id);
      },
      log: (m) => log.info(m),
    });
    reserved.ingest = ingest;
    return { sink: ingest };
  }
}
