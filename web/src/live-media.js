// Live media in the browser over the platform's WebSocket signalling (docs/protocol.md#media),
// with mediasoup-client. Bundled by the gateway (esbuild) and served at /bundles/live-media.js.
//   const media = new LiveMedia(request, streamId)      request(t, d) -> Promise<answer>
//   await media.broadcast(mediaStream)                   camera/screen + mic, 3 simulcast layers
//   await media.watch(videoElement)                      consumes everything the stream produces
//   media.onNotice(frame)                                feed media.* frames from the socket
import { Device } from "mediasoup-client";

// The platform's quality ladder (media/codecs.ts): low / medium / high.
const ENCODINGS = [
  { rid: "r0", scaleResolutionDownBy: 4, maxBitrate: 150000 },
  { rid: "r1", scaleResolutionDownBy: 2, maxBitrate: 500000 },
  { rid: "r2", scaleResolutionDownBy: 1, maxBitrate: 1500000 },
];

export class LiveMedia {
  constructor(request, streamId, { onState = () => {} } = {}) {
    this.request = request;
    this.stream = streamId;
    this.onState = onState;
    this.device = new Device();
    this.transport = null;
    this.consumers = new Map();
    this.producers = new Map();
    this.video = null;
    this.quality = "auto";
    this.closed = false;
  }

  async #join(role) {
    const ans = await this.request("media.join", { stream: this.stream, role });
    if (!this.device.loaded) await this.device.load({ routerRtpCapabilities: ans.rtpCapabilities });
    const make = role === "broadcaster" ? "createSendTransport" : "createRecvTransport";
    const t = this.device[make](ans.transport);
    t.on("connect", ({ dtlsParameters }, ok, fail) =>
      this.request("media.connect", { stream: this.stream, transportId: t.id, dtlsParameters }).then(() => ok(), fail));
    t.on("connectionstatechange", (s) => this.onState(s));
    this.transport = t;
    return ans;
  }

  /** Publishes the tracks of a MediaStream: video with simulcast, audio as is. */
  async broadcast(mediaStream, source = "camera") {
    await this.#join("broadcaster");
    this.transport.on("produce", ({ kind, rtpParameters, appData }, ok, fail) =>
      this.request("media.produce", { stream: this.stream, transportId: this.transport.id, kind, rtpParameters, source: appData.source })
        .then(({ producerId }) => ok({ id: producerId }), fail));
    for (const track of mediaStream.getTracks()) {
      const opts = track.kind === "video"
        ? { track, encodings: ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 }, stopTracks: false, appData: { source } }
        : { track, stopTracks: false, appData: { source: "mic" } }; // tracks outlive a transport: republish after a reconnect
      const p = await this.transport.produce(opts);
      this.producers.set(p.id, p);
    }
    return [...this.producers.keys()];
  }

  /** Consumes what the stream produces now, and whatever it produces later (onNotice). */
  async watch(videoElement) {
    this.video = videoElement;
    this.video.srcObject = new MediaStream();
    await this.#join("viewer");
    await this.#consumeNew();
  }

  async #consumeNew() {
    if (!this.transport || this.closed) return;
    const { consumers } = await this.request("media.consume", { stream: this.stream, transportId: this.transport.id, rtpCapabilities: this.device.rtpCapabilities });
    for (const info of consumers) {
      const c = await this.transport.consume(info);
      this.consumers.set(c.id, c);
      this.video.srcObject.addTrack(c.track);
      await this.request("media.resume", { stream: this.stream, consumerId: c.id });
      if (c.kind === "video" && this.quality !== "auto") await this.setQuality(this.quality);
    }
    if (consumers.length) this.video.play().catch(() => {});
  }

  /** "auto" (bandwidth estimation picks the layer) or "low" | "medium" | "high". */
  async setQuality(quality) {
    this.quality = quality;
    for (const c of this.consumers.values()) {
      if (c.kind === "video") await this.request("media.quality", { stream: this.stream, consumerId: c.id, quality });
    }
  }

  /** Handles media.* notices from the socket; returns true when the frame was one. */
  onNotice(f) {
    if (!f.t.startsWith("media.") || f.d?.streamId !== this.stream) return false;
    if (f.t === "media.producer" && this.video) this.#consumeNew().catch((e) => this.onState(`error: ${e.message}`));
    if (f.t === "media.producer.closed") {
      for (const [id, c] of this.consumers) if (c.producerId === f.d.producerId) {
        this.video?.srcObject?.removeTrack(c.track);
        c.close();
        this.consumers.delete(id);
      }
    }
    if (f.t === "media.closed") {
      this.close();
      this.onState(f.d.reconnect ? "reconnect" : "ended");
    }
    return true;
  }

  /** Bitrate (kbit/s), resolution, and a latency estimate (RTT/2 + jitter buffer) of the video. */
  async stats() {
    const out = { kbps: 0, width: 0, height: 0, latencyMs: null, fps: 0, packetsLost: 0 };
    if (!this.transport) return out;
    const now = performance.now();
    let rtt = null;
    for (const s of (await this.transport.getStats()).values()) {
      if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) rtt = s.currentRoundTripTime * 1000;
      const video = s.kind === "video" && (s.type === "inbound-rtp" || s.type === "outbound-rtp");
      if (!video) continue;
      const bytes = s.bytesReceived ?? s.bytesSent ?? 0;
      if (this.lastBytes !== undefined) out.kbps += Math.round(((bytes - (this.lastBytes[s.id] ?? bytes)) * 8) / (now - this.lastAt));
      (this.nextBytes ??= {})[s.id] = bytes;
      out.width = Math.max(out.width, s.frameWidth ?? 0);
      out.height = Math.max(out.height, s.frameHeight ?? 0);
      out.fps = Math.max(out.fps, s.framesPerSecond ?? 0);
      out.packetsLost += s.packetsLost ?? 0;
      if (s.jitterBufferEmittedCount) out.jitterMs = (s.jitterBufferDelay / s.jitterBufferEmittedCount) * 1000;
    }
    this.lastBytes = this.nextBytes ?? {};
    this.nextBytes = {};
    this.lastAt = now;
    if (rtt !== null) out.latencyMs = Math.round(rtt / 2 + (out.jitterMs ?? 0));
    return out;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.transport?.close();
    this.consumers.clear();
    this.producers.clear();
  }
}
