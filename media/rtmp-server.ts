/**
 * RTMP ingest (OBS, vMix, Larix, ffmpeg, hardware encoders): a TCP listener whose protocol work
 * (handshake, chunk streams, AMF commands, FLV tags) is node-media-server's RTMP engine; the
 * session around it is ours. A publish names the stream key (`rtmp://host:port/live/<key>`); it is
 * answered only once `onPublish` accepted the key, so a wrong or rotated key is refused before any
 * media flows. Media packets then go to the accepted sink.
 *
 * Bad input closes that connection only: a malformed chunk, a message larger than 8 MiB, more
 * than 32 chunk streams, more than 256 KiB before a publish is accepted, no publish within 10 s;
 * past 16 connections from one address (2,000 in all) a new one is closed at once.
 */
import net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// node-media-server is CommonJS without types: the shapes used here are declared below.
const nmsLogger = require("node-media-server/src/core/logger.js") as { level: string };
nmsLogger.level = "error"; // its logger is a process-wide singleton that prints with console.log
const RtmpEngine = require("node-media-server/src/protocol/rtmp.js") as new () => RtmpEngineShape;
/** node-media-server's FLV writer: the file header and one tag per packet. */
export const flv = require("node-media-server/src/protocol/flv.js") as { createHeader(hasAudio: boolean, hasVideo: boolean): Buffer; createMessage(p: FlvPacket): Buffer };

/** One FLV tag as node-media-server parses it. */
export interface FlvPacket {
  /** 8 audio, 9 video, 18 script. */
  codec_type: number;
  /** Audio: sound format (10 AAC, 2 MP3...); video: codec id (7 AVC) or an enhanced-RTMP FourCC. */
  codec_id: number;
  /** Video: 2 sequence header, 3 key frame, 4 inter frame; audio: 0 sequence header. */
  flags: number;
  pts: number;
  dts: number;
  size: number;
  data: Buffer;
}

interface RtmpEngineShape {
  parserData(data: Buffer): string | null;
  onConnectCallback: (req: unknown) => void;
  onPushCallback: () => void;
  onPlayCallback: () => void;
  onPacketCallback: (p: FlvPacket) => void;
  onOutputCallback: (b: Buffer) => void;
  respondPublish(): void;
  sendStatusMessage(sid: number, level: string, code: string, description: string): void;
  streamApp?: string;
  streamName?: string;
  streamId: number;
  parserPacket: { header: { stream_id: number; length: number } };
  inPackets: Map<number, unknown>;
}

const MAX_MESSAGE_BYTES = 8 << 20;
const MAX_CHUNK_STREAMS = 32;
const MAX_BYTES_BEFORE_PUBLISH = 256 << 10;
const PUBLISH_TIMEOUT_MS = 10_000;
/** Connections at once from one address, and in all (an encoder needs one). */
const MAX_PER_ADDRESS = 16;
const MAX_CONNECTIONS = 2000;

/** Where an accepted publish's media goes; closed when the encoder goes away. */
export interface IngestSink {
  packet(p: FlvPacket): void;
  close(why: string): void;
}

/** What the node says to a publish: a sink, or a refusal with its reason. */
export type PublishVerdict = { sink: IngestSink } | { refused: string };

export interface PublishRequest {
  app: string;
  key: string;
  remote: string;
  /** Ends this session (a rotated key, a revoked owner, a cap exceeded). */
  end: (why: string) => void;
}

/** The engine with its publish gated on our verdict and its allocations bounded. */
class GatedRtmp extends (RtmpEngine as unknown as new () => RtmpEngineShape & Record<string, unknown>) {
  onPublishRequest: (app: string, name: string) => void = () => undefined;

  onPublish(invokeMessage: { streamName?: unknown }): void {
    this.streamName = typeof invokeMessage.streamName === "string" ? (invokeMessage.streamName.split("?")[0] ?? "") : "";
    this.streamId = this.parserPacket.header.stream_id;
    this.onPublishRequest(this.streamApp ?? "", this.streamName);
  }

  onPlay(): void {
    throw new Error("this server takes publishes only");
  }

  packetParse(): void {
    (RtmpEngine.prototype as unknown as { packetParse(this: unknown): void }).packetParse.call(this);
    if (this.inPackets.size > MAX_CHUNK_STREAMS) throw new Error("too many chunk streams");
  }

  packetAlloc(): void {
    if (this.parserPacket.header.length > MAX_MESSAGE_BYTES) throw new Error(`message of ${String(this.parserPacket.header.length)} bytes`);
    (RtmpEngine.prototype as unknown as { packetAlloc(this: unknown): void }).packetAlloc.call(this);
  }
}

export class RtmpServer {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #perAddress = new Map<string, number>();
  readonly #onPublish: (req: PublishRequest) => Promise<PublishVerdict>;
  readonly #log: (level: "info" | "warn", msg: string) => void;

  constructor(onPublish: (req: PublishRequest) => Promise<PublishVerdict>, log: (level: "info" | "warn", msg: string) => void) {
    this.#onPublish = onPublish;
    this.#log = log;
    this.#server = net.createServer((socket) => this.#session(socket));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => resolve((this.#server.address() as net.AddressInfo).port));
    });
  }

  close(): void {
    this.#server.close();
    for (const s of this.#sockets) s.destroy();
  }

  #session(socket: net.Socket): void {
    const address = socket.remoteAddress ?? "?";
    const count = this.#perAddress.get(address) ?? 0;
    if (count >= MAX_PER_ADDRESS || this.#sockets.size >= MAX_CONNECTIONS) {
      this.#log("warn", `rtmp ${address}: refused (too many connections)`);
      socket.destroy();
      return;
    }
    this.#perAddress.set(address, count + 1);
    this.#sockets.add(socket);
    const remote = `${socket.remoteAddress ?? "?"}:${String(socket.remotePort ?? 0)}`;
    const engine = new GatedRtmp();
    let sink: IngestSink | undefined;
    let asked = false;
    let received = 0;
    let ended = false;
    const end = (why: string, level: "info" | "warn" = "info") => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      this.#log(level, `rtmp ${remote}: closed (${why})`);
      sink?.close(why);
      socket.end(); // what was written (a refusal's status) still reaches the encoder
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const timer = setTimeout(() => end("no publish within 10 s", "warn"), PUBLISH_TIMEOUT_MS);
    engine.onOutputCallback = (b) => {
      if (!ended) socket.write(b);
    };
    engine.onPacketCallback = (p) => {
      if (!sink) return;
      // The engine reuses one buffer per chunk stream for every message on it: keep a copy.
      p.data = Buffer.from(p.data.subarray(0, p.size));
      sink.packet(p);
    };
    engine.onPublishRequest = (app, key) => {
      if (asked) return end("a second publish on one connection", "warn");
      asked = true;
      this.#onPublish({ app, key, remote, end: (why) => end(why, "warn") }).then(
        (verdict) => {
          if ("refused" in verdict) {
            if (ended) return;
            engine.sendStatusMessage(engine.streamId, "error", "NetStream.Publish.BadName", verdict.refused);
            return end(`refused: ${verdict.refused}`, "warn");
          }
          if (ended) return verdict.sink.close("the encoder left");
          sink = verdict.sink;
          clearTimeout(timer);
          engine.respondPublish();
        },
        (err: unknown) => end(`publish failed: ${String(err)}`, "warn"),
      );
    };
    socket.on("data", (data: Buffer) => {
      if (ended) return;
      received += data.length;
      if (!sink && received > MAX_BYTES_BEFORE_PUBLISH) return end("too much data before the publish was accepted", "warn");
      try {
        const err = engine.parserData(data);
        if (err) end(`malformed: ${err}`, "warn");
      } catch (err) {
        end(`malformed: ${err instanceof Error ? err.message : String(err)}`, "warn");
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.#sockets.delete(socket);
      const n = (this.#perAddress.get(address) ?? 1) - 1;
      if (n > 0) this.#perAddress.set(address, n);
      else this.#perAddress.delete(address);
      end("the encoder disconnected");
    });
  }
}
