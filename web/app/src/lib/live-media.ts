/**
 * Live media in the browser over the platform's WebSocket signalling (docs/protocol.md#media),
 * with mediasoup-client:
 *   const media = new LiveMedia(request, streamId)   request(t, d) -> Promise<answer>
 *   await media.broadcast(mediaStream)                camera/screen + mic, 3 simulcast layers
 *   await media.watch(videoElement)                   consumes everything the stream produces
 *   media.onNotice(frame)                             feed media.* frames from the socket
 */
import { Device, type types } from "mediasoup-client";
import { MEDIA_LADDER, type MediaJoinAnswer, type Quality } from "../../../../protocol/media";

/** The simulcast encodings: the platform's ladder (protocol/media.ts), lowest first. */
const ENCODINGS: types.RtpEncodingParameters[] = MEDIA_LADDER.map(({ rid, scaleResolutionDownBy, maxBitrate }) => ({ rid, scaleResolutionDownBy, maxBitrate }));

export type { Quality };
export type Requester = (t: string, d: unknown) => Promise<unknown>;

export interface LiveStats {
  kbps: number;
  width: number;
  height: number;
  fps: number;
  packetsLost: number;
  /** RTT/2 + the jitter buffer, when the transport knows its RTT. */
  latencyMs: number | null;
  jitterMs?: number;
}

interface StatsEntry {
  id: string;
  type: string;
  kind?: string;
  nominated?: boolean;
  currentRoundTripTime?: number;
  bytesReceived?: number;
  bytesSent?: number;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  packetsLost?: number;
  jitterBufferDelay?: number;
  jitterBufferEmittedCount?: number;
}

export class LiveMedia {
  /** The signalling request function (public for tests and the console). */
  readonly request: Requester;
  readonly stream: string;
  readonly #onState: (s: string) => void;
  readonly #device = new Device();
  #transport: types.Transport | undefined;
  readonly consumers = new Map<string, types.Consumer>();
  readonly producers = new Map<string, types.Producer>();
  #video: HTMLVideoElement | undefined;
  #quality: Quality = "auto";
  #closed = false;
  #lastBytes: Record<string, number> | undefined;
  #lastAt = 0;

  constructor(request: Requester, streamId: string, opts: { onState?: (s: string) => void } = {}) {
    this.request = request;
    this.stream = streamId;
    // Every state of every LiveMedia of the page, in order (for tests and the console).
    const log = ((globalThis as { mediaStates?: string[] }).mediaStates ??= []);
    this.#onState = (s) => {
      log.push(s);
      if (log.length > 200) log.shift();
      opts.onState?.(s);
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #join(role: "broadcaster" | "viewer"): Promise<types.Transport> {
    const ans = (await this.request("media.join", { stream: this.stream, role })) as MediaJoinAnswer;
    if (!this.#device.loaded) await this.#device.load({ routerRtpCapabilities: ans.rtpCapabilities as types.RtpCapabilities });
    const opts = ans.transport as types.TransportOptions;
    const t = role === "broadcaster" ? this.#device.createSendTransport(opts) : this.#device.createRecvTransport(opts);
    t.on("connect", ({ dtlsParameters }, ok, fail) => {
      this.request("media.connect", { stream: this.stream, transportId: t.id, dtlsParameters }).then(() => ok(), fail);
    });
    t.on("connectionstatechange", (s) => this.#onState(s));
    this.#transport = t;
    return t;
  }

  /** Publishes the tracks of a MediaStream: video with simulcast, audio as is. */
  async broadcast(mediaStream: MediaStream, source: "camera" | "screen" = "camera"): Promise<string[]> {
    const t = await this.#join("broadcaster");
    t.on("produce", ({ kind, rtpParameters, appData }, ok, fail) => {
      this.request("media.produce", { stream: this.stream, transportId: t.id, kind, rtpParameters, source: appData.source })
        .then((a) => ok({ id: (a as { producerId: string }).producerId }), fail);
    });
    for (const track of mediaStream.getTracks()) {
      // Tracks outlive a transport (stopTracks: false): republished after a reconnect.
      const p = track.kind === "video"
        ? await t.produce({ track, encodings: ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 }, stopTracks: false, appData: { source } })
        : await t.produce({ track, stopTracks: false, appData: { source: "mic" } });
      this.producers.set(p.id, p);
    }
    return [...this.producers.keys()];
  }

  /** Consumes what the stream produces now, and whatever it produces later (onNotice). */
  async watch(video: HTMLVideoElement): Promise<void> {
    this.#video = video;
    video.srcObject = new MediaStream();
    await this.#join("viewer");
    await this.#consumeNew();
  }

  async #consumeNew(): Promise<void> {
    const t = this.#transport;
    const out = this.#video?.srcObject;
    if (!t || this.#closed || !(out instanceof MediaStream)) return;
    const { consumers } = (await this.request("media.consume", { stream: this.stream, transportId: t.id, rtpCapabilities: this.#device.recvRtpCapabilities })) as { consumers: types.ConsumerOptions[] };
    for (const info of consumers) {
      const c = await t.consume(info);
      this.consumers.set(c.id, c);
      out.addTrack(c.track);
      await this.request("media.resume", { stream: this.stream, consumerId: c.id });
      if (c.kind === "video" && this.#quality !== "auto") await this.setQuality(this.#quality);
    }
    if (consumers.length > 0) this.#video?.play().catch(() => undefined);
  }

  /** "auto" (bandwidth estimation picks the layer) or "low" | "medium" | "high". */
  async setQuality(quality: Quality): Promise<void> {
    this.#quality = quality;
    for (const c of this.consumers.values()) {
      if (c.kind === "video") await this.request("media.quality", { stream: this.stream, consumerId: c.id, quality });
    }
  }

  /** Handles media.* notices from the socket; returns true when the frame was one. */
  onNotice(f: { t: string; d?: unknown }): boolean {
    const d = (f.d ?? {}) as { streamId?: string; producerId?: string; reconnect?: boolean };
    if (!f.t.startsWith("media.") || d.streamId !== this.stream) return false;
    if (f.t === "media.producer" && this.#video) this.#consumeNew().catch((e: unknown) => this.#onState(`error: ${e instanceof Error ? e.message : String(e)}`));
    if (f.t === "media.producer.closed") this.#dropConsumersOf(d.producerId);
    if (f.t === "media.closed") {
      this.close();
      this.#onState(d.reconnect ? "reconnect" : "ended");
    }
    return true;
  }

  #dropConsumersOf(producerId: string | undefined): void {
    const out = this.#video?.srcObject;
    for (const [id, c] of this.consumers) {
      if (c.producerId !== producerId) continue;
      if (out instanceof MediaStream) out.removeTrack(c.track);
      c.close();
      this.consumers.delete(id);
    }
  }

  /** Bitrate (kbit/s), resolution, and a latency estimate (RTT/2 + jitter buffer) of the video. */
  async stats(): Promise<LiveStats> {
    const out: LiveStats = { kbps: 0, width: 0, height: 0, latencyMs: null, fps: 0, packetsLost: 0 };
    if (!this.#transport) return out;
    const now = performance.now();
    let rtt: number | null = null;
    const next: Record<string, number> = {};
    for (const s of (await this.#transport.getStats()).values() as IterableIterator<StatsEntry>) {
      if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) rtt = s.currentRoundTripTime * 1000;
      if (s.kind !== "video" || (s.type !== "inbound-rtp" && s.type !== "outbound-rtp")) continue;
      const bytes = s.bytesReceived ?? s.bytesSent ?? 0;
      if (this.#lastBytes) out.kbps += Math.round(((bytes - (this.#lastBytes[s.id] ?? bytes)) * 8) / (now - this.#lastAt));
      next[s.id] = bytes;
      out.width = Math.max(out.width, s.frameWidth ?? 0);
      out.height = Math.max(out.height, s.frameHeight ?? 0);
      out.fps = Math.max(out.fps, s.framesPerSecond ?? 0);
      out.packetsLost += s.packetsLost ?? 0;
      if (s.jitterBufferEmittedCount) out.jitterMs = ((s.jitterBufferDelay ?? 0) / s.jitterBufferEmittedCount) * 1000;
    }
    this.#lastBytes = next;
    this.#lastAt = now;
    if (rtt !== null) out.latencyMs = Math.round(rtt / 2 + (out.jitterMs ?? 0));
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport?.close();
    this.consumers.clear();
    this.producers.clear();
  }
}
