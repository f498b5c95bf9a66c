/**
 * Media across machines: an origin node (where the broadcaster's producers live) feeds relay
 * nodes through mediasoup PipeTransports (UDP, SRTP), one per relay node and stream. The
 * relay's producers keep the origin's ids, so viewers consume the same producer ids wherever
 * they are served. This module holds the two ends; the media actor carries the handshake
 * (`media.pipeOut` origin-side, `media.pipeIn` for producers added later).
 */
import type { types } from "mediasoup";
import type { AppConfig } from "../lib/config.js";

/** One producer as the relay must recreate it. */
export interface PipedProducer {
  id: string;
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
  paused: boolean;
  source: string;
}

/** One end of a pipe: where it listens and its SRTP keys. */
export interface PipeEnd {
  ip: string;
  port: number;
  srtpParameters: types.SrtpParameters | undefined;
}

export async function createPipe(router: types.Router, cfg: AppConfig["media"], appData: Record<string, unknown>): Promise<types.PipeTransport> {
  const announced = cfg.announcedAddress ? { announcedAddress: cfg.announcedAddress } : {};
  return router.createPipeTransport({ listenInfo: { protocol: "udp", ip: cfg.listenIp, ...announced }, enableSrtp: true, enableRtx: true, appData });
}

export function endOf(t: types.PipeTransport): PipeEnd {
  return { ip: t.tuple.localAddress, port: t.tuple.localPort, srtpParameters: t.srtpParameters };
}

export async function connectPipe(t: types.PipeTransport, remote: PipeEnd): Promise<void> {
  await t.connect(remote.srtpParameters ? { ip: remote.ip, port: remote.port, srtpParameters: remote.srtpParameters } : { ip: remote.ip, port: remote.port });
}

/** Origin side: the pipe to one relay node, with one pipe consumer per producer. */
export class PipeOut {
  readonly transport: types.PipeTransport;
  readonly #consumers = new Map<string, types.Consumer>();

  constructor(transport: types.PipeTransport) {
    this.transport = transport;
  }

  async add(producerId: string, source: string): Promise<PipedProducer> {
    const c = await this.transport.consume({ producerId });
    this.#consumers.set(producerId, c);
    c.observer.once("close", () => this.#consumers.delete(producerId));
    return { id: producerId, kind: c.kind, rtpParameters: c.rtpParameters, paused: c.producerPaused, source };
  }

  close(): void {
    this.transport.close();
  }
}

/** Origin side: the pipes of one stream to its relay nodes, one per node. */
export class OriginPipes {
  readonly #cfg: AppConfig["media"];
  readonly #streamId: string;
  readonly #out = new Map<string, PipeOut>();

  constructor(cfg: AppConfig["media"], streamId: string) {
    this.#cfg = cfg;
    this.#streamId = streamId;
  }

  /** A relay node's pipe end: our end of a new pipe from `router`, and every producer piped. */
  async open(relayNode: string, router: types.Router, remote: PipeEnd, producers: Iterable<[string, string]>): Promise<PipeEnd & { producers: PipedProducer[] }> {
    this.#out.get(relayNode)?.close();
    const out = new PipeOut(await createPipe(router, this.#cfg, { streamId: this.#streamId, relayNode }));
    this.#out.set(relayNode, out);
    out.transport.observer.once("close", () => {
      if (this.#out.get(relayNode) === out) this.#out.delete(relayNode);
    });
    await connectPipe(out.transport, remote);
    const piped: PipedProducer[] = [];
    for (const [id, source] of producers) piped.push(await out.add(id, source));
    return { ...endOf(out.transport), producers: piped };
  }

  /** A new producer at the origin: piped to every relay node; `tell` passes it on to each. */
  async add(producerId: string, source: string, tell: (relayNode: string, p: PipedProducer) => void): Promise<void> {
    for (const [node, out] of this.#out) tell(node, await out.add(producerId, source));
  }
}
