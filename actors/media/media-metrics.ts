/**
 * Prometheus gauges of one media node, sampled every `everyMs` (5 s): streams, viewers,
 * producers and consumers hosted here, and per live producer (stream, kind) its inbound
 * bitrate and loss as mediasoup measures them (Producer.getStats: the broadcaster's RTP as
 * received). Per-stream series are cleared each sample, so ended streams leave no stale series.
 */
import type { ServiceBroker } from "moleculer";
import type { MediaNode } from "./media-node.js";

const G = {
  "esh.media.streams": "Live streams hosted on this media node",
  "esh.media.viewers": "WebRTC viewers on this media node",
  "esh.media.producers": "Producers (broadcast tracks) on this media node",
  "esh.media.consumers": "Consumers (viewer tracks) on this media node's routers",
};
const P = {
  "esh.media.producer.bitrate": "Inbound bitrate of a broadcast track, bits/s (mediasoup producer stats)",
  "esh.media.producer.packets.lost": "RTP packets lost on a broadcast track since it started",
  "esh.media.producer.fraction.lost": "Fraction of RTP packets lost in the last RTCP interval (0..1)",
  "esh.media.producer.score": "mediasoup's 0..10 quality score of a broadcast track",
};

export class MediaMetrics {
  readonly #broker: ServiceBroker;
  readonly #node: MediaNode;
  readonly #timer: NodeJS.Timeout;
  #busy = false;

  constructor(broker: ServiceBroker, node: MediaNode, everyMs = 5000) {
    this.#broker = broker;
    this.#node = node;
    const m = broker.metrics;
    for (const [name, description] of Object.entries(G)) m.register({ type: "gauge", name, description });
    for (const [name, description] of Object.entries(P)) m.register({ type: "gauge", name, description, labelNames: ["stream", "kind"] });
    this.#timer = setInterval(() => void this.sample(), everyMs);
    this.#timer.unref();
  }

  async sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const m = this.#broker.metrics;
      const streams = this.#node.liveStreams();
      let viewers = 0;
      let consumers = 0;
      let producers = 0;
      const rows: { stream: string; kind: string; bitrate: number; lost: number; fraction: number; score: number }[] = [];
      for (const s of streams) {
        viewers += s.viewers;
        for (const h of s.hosts()) consumers += h.consumers;
        for (const { producer } of s.producers.values()) {
          producers++;
          const stats = await producer.getStats().catch(() => []);
          const rtp = stats.filter((x) => x.type === "inbound-rtp");
          rows.push({
            stream: s.id,
            kind: producer.kind,
            bitrate: rtp.reduce((a, x) => a + (x.bitrate || 0), 0),
            lost: rtp.reduce((a, x) => a + (x.packetsLost || 0), 0),
            fraction: Math.max(0, ...rtp.map((x) => (x.fractionLost || 0) / 256)),
            score: producer.score.length ? Math.min(...producer.score.map((x) => x.score)) : 0,
          });
        }
      }
      m.set("esh.media.streams", streams.length);
      m.set("esh.media.viewers", viewers);
      m.set("esh.media.producers", producers);
      m.set("esh.media.consumers", consumers);
      for (const name of Object.keys(P)) m.getMetric(name).clear();
      for (const r of rows) {
        const labels = { stream: r.stream, kind: r.kind };
        m.set("esh.media.producer.bitrate", r.bitrate, labels);
        m.set("esh.media.producer.packets.lost", r.lost, labels);
        m.set("esh.media.producer.fraction.lost", r.fraction, labels);
        m.set("esh.media.producer.score", r.score, labels);
      }
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
