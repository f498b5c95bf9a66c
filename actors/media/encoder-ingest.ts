/**
 * The encoder listeners of a media node (RTMP and SRT) and the ingests they run. A publish is
 * accepted when its key names a live stream (streams.checkIngestKey), no other ingest of that
 * stream is running, and this node is (or becomes) the stream's origin; each refusal is answered
 * to the encoder before any media flows, with a security log line for a wrong key. An accepted
 * ingest ends when the encoder leaves (then the grace period runs, as for any broadcaster), when
 * its key is rotated or revoked, when its owner is revoked, or when it breaks a cap.
 *
 * Owner of: the RtmpServer, the SrtServer, and every ingest they accepted.
 */
import { randomBytes } from "node:crypto";
import type { LoggerInstance, ServiceBroker } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { hasCode } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";
import { SecurityLog } from "../../lib/logging.js";
import { FlvIngest, type IngestStats } from "../../media/flv-ingest.js";
import type { LiveStream } from "../../media/live-stream.js";
import { RtmpServer, type PublishRequest, type PublishVerdict } from "../../media/rtmp-server.js";
import { SrtServer, type SrtPublish, type SrtVerdict } from "../../media/srt-server.js";
import { TsIngest, type TsIngestStats } from "../../media/ts-ingest.js";
import type { IngestGrant } from "../../protocol/ingest.js";
import type { MediaNode } from "./media-node.js";

type Protocol = "rtmp" | "srt";

interface Running {
  ownerId: string;
  /** Unset while the publish is being accepted. */
  stats: (() => IngestStats | TsIngestStats) | undefined;
  end: (why: string) => void;
}

/** What an accepted publish gets to build its ingest with. */
interface Admitted {
  grant: IngestGrant;
  live: LiveStream;
  peerId: string;
  owner: Principal;
  /** The callbacks every ingest kind reports through. */
  hooks: { onLive(): void; onClosed(why: string): void; log(msg: string): void };
  reserved: Running;
}

export class EncoderIngest {
  readonly #cfg: AppConfig["media"];
  readonly #node: MediaNode;
  readonly #broker: ServiceBroker;
  readonly #sec: SecurityLog;
  readonly #log: LoggerInstance;
  readonly #running = new Map<string, Running>();
  /** Why each stream's last encoder was refused or cut off (the studio shows it). */
  readonly #refusals = new Map<string, { why: string; at: number }>();
  #rtmp: RtmpServer | undefined;
  #srt: SrtServer | undefined;

  constructor(cfg: AppConfig["media"], node: MediaNode, broker: ServiceBroker) {
    this.#cfg = cfg;
    this.#node = node;
    this.#broker = broker;
    this.#sec = SecurityLog.of(broker);
    this.#log = broker.getLogger("ingest");
  }

  /** Listens where media.rtmpPort and media.srtPort say (0 = off). */
  async start(host: string): Promise<void> {
    const log = (level: "info" | "warn", msg: string) => this.#log[level](msg);
    if (this.#cfg.rtmpPort) {
      this.#rtmp = new RtmpServer((req) => this.#publishRtmp(req), log);
      const port = await this.#rtmp.listen(this.#cfg.rtmpPort, host);
      this.#log.info(`RTMP ingest on ${host}:${String(port)} (rtmp://host:${String(port)}/live/<stream key>)`);
    }
    if (this.#cfg.srtPort) {
      if (!SrtServer.available()) {
        this.#log.warn("SRT ingest is off: the srt-gate helper is not built (npm start / npm test build it with libsrt-openssl-dev)");
      } else {
        this.#srt = new SrtServer((p) => this.#publishSrt(p), log);
        await this.#srt.listen(this.#cfg.srtPort, host, this.#cfg.srtLatencyMs);
        this.#log.info(`SRT ingest on ${host}:${String(this.#cfg.srtPort)} (srt://host:${String(this.#cfg.srtPort)}?streamid=<stream key>)`);
      }
    }
  }

  stop(): void {
    for (const r of [...this.#running.values()]) r.end("the media node is stopping");
    this.#rtmp?.close();
    this.#srt?.close();
  }

  /** The stream's key was rotated or revoked: its ingest ends now. */
  keyChanged(streamId: string): void {
    this.#running.get(streamId)?.end("the stream key was rotated or revoked");
  }

  /** The owner's sessions were revoked (role change, logout everywhere, admin): their ingests end. */
  ownerRevoked(userId: string): void {
    for (const r of [...this.#running.values()]) if (r.ownerId === userId) r.end("the stream's owner was revoked");
  }

  stats(streamId: string): IngestStats | TsIngestStats | undefined {
    return this.#running.get(streamId)?.stats?.();
  }

  lastRefusal(streamId: string): { why: string; at: number } | undefined {
    return this.#refusals.get(streamId);
  }

  #refused(streamId: string, why: string): void {
    this.#refusals.delete(streamId); // newest last (the map's order bounds it)
    this.#refusals.set(streamId, { why, at: Date.now() });
    if (this.#refusals.size > 1000) this.#refusals.delete(this.#refusals.keys().next().value ?? "");
  }

  async #publishRtmp(req: PublishRequest): Promise<PublishVerdict> {
    if (req.app !== "live") return { refused: "publish to rtmp://host:port/live with the stream key as the key" };
    const a = await this.#admit("rtmp", req.key, req.remote, req.end);
    if ("refused" in a) return a;
    const ingest = new FlvIngest({ stream: a.live, peerId: a.peerId, who: whoOf(a, req.remote), maxKbps: this.#cfg.ingestMaxKbps, maxHeight: this.#cfg.ingestMaxHeight, end: a.reserved.end, ...a.hooks });
    a.reserved.stats = () => ingest.stats;
    return { sink: ingest };
  }

  async #publishSrt(p: SrtPublish): Promise<SrtVerdict> {
    const a = await this.#admit("srt", p.key, p.remote, p.end);
    if ("refused" in a) return a;
    const ingest = new TsIngest({ stream: a.live, peerId: a.peerId, who: whoOf(a, p.remote), udpPort: p.udpPort, maxKbps: this.#cfg.ingestMaxKbps, maxHeight: this.#cfg.ingestMaxHeight, end: a.reserved.end, ...a.hooks });
    a.reserved.stats = () => ingest.stats;
    // Answered now (the SRT handshake waits on it, and so does every caller on the port): the
    // stream's legs and ffmpeg start behind the answer; what the caller sends meanwhile is dropped.
    void ingest.start().catch((err: unknown) => {
      a.reserved.end(`could not start: ${String(err)}`);
      ingest.close(`could not start: ${String(err)}`);
    });
    return { sink: ingest };
  }

  /** The key, the one-ingest rule and the origin: the publish's stream opened here, or why not. */
  async #admit(protocol: Protocol, key: string, remote: string, end: (why: string) => void): Promise<Admitted | { refused: string }> {
    let grant: IngestGrant;
    try {
      grant = await this.#broker.call<IngestGrant, { key: string }>("streams.checkIngestKey", { key });
    } catch (err) {
      if (!hasCode(err, "FORBIDDEN") && !hasCode(err, "CONFLICT") && !hasCode(err, "BAD_REQUEST")) throw err;
      this.#sec.event("auth.failed", { via: protocol, ip: remote.replace(/:\d+$/, ""), what: "stream key", code: "FORBIDDEN" });
      return { refused: hasCode(err, "CONFLICT") ? (err as Error).message : "wrong, rotated or revoked stream key" };
    }
    const id = grant.streamId;
    if (this.#running.has(id)) {
      this.#refused(id, "a second encoder was refused: this stream is already being published");
      return { refused: "this stream is already being published" };
    }
    // Reserved before the next await: two publishes at once cannot both pass.
    const reserved: Running = {
      ownerId: grant.ownerId,
      stats: undefined,
      end: (why) => {
        this.#refused(id, why);
        end(why);
      },
    };
    this.#running.set(id, reserved);
    const release = () => {
      if (this.#running.get(id) === reserved) this.#running.delete(id);
    };
    try {
      const owner: Principal = { userId: grant.ownerId, name: grant.ownerName, role: grant.ownerRole, guest: false, sid: `ingest:${id}`, exp: Math.floor(Date.now() / 1000) + 60 };
      const origin = await this.#broker.call<{ nodeID: string }, object>("streams.place", { id, role: "broadcaster", prefer: this.#broker.nodeID }, { meta: { caller: { kind: "user", principal: owner } } });
      if (origin.nodeID !== this.#broker.nodeID) {
        release();
        this.#refused(id, `publish to the media node that serves this stream (${origin.nodeID})`);
        return { refused: `this stream is served by another media node (${origin.nodeID}): publish there` };
      }
      const live = await this.#node.open(id);
      const hooks = {
        onLive: () => {
          this.#node.broadcasterJoined(id);
          this.#broker.call("streams.setStatus", { id, status: "live" }).catch((err: unknown) => {
            if (!hasCode(err, "CONFLICT")) this.#log.warn(`${protocol}: could not mark ${id} live: ${String(err)}`);
          });
        },
        onClosed: (why: string) => {
          release();
          this.#log.info(`${protocol} ingest of ${id} ended: ${why}`);
          this.#node.left(id);
        },
        log: (m: string) => this.#log.info(m),
      };
      return { grant, live, peerId: `${protocol}-${randomBytes(6).toString("hex")}`, owner, hooks, reserved };
    } catch (err) {
      release();
      throw err;
    }
  }
}

function whoOf(a: Admitted, remote: string): { userId: string; sid: string; ip: string } {
  return { userId: a.grant.ownerId, sid: a.owner.sid, ip: remote.replace(/:\d+$/, "") };
}
