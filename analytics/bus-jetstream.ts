/**
 * The distributed bus: a JetStream stream `<namespace>_EVENTS` (file storage, R = storeReplicas,
 * work-queue retention: acked messages are deleted; bounded by analytics.backlogMaxBytes with discard-new, so a full backlog refuses publishes
 * instead of dropping accepted events). Publishers wait for the PubAck; each message carries a
 * msg id made of its bytes, so a publisher's retry inside the duplicate window is stored once. Consumers share one durable pull consumer (a work queue across analytics nodes) and ack
 * only after the insert; an unacked message comes back after ackWait, flagged redelivered.
 */
import { createHash } from "node:crypto";
import { AckPolicy, connect, DiscardPolicy, headers, RetentionPolicy, StorageType, type JetStreamClient, type JsMsg, type NatsConnection } from "nats";
import type { AppConfig } from "../lib/config.js";
import { AppError } from "../lib/errors.js";
import type { EncodedBatch } from "./events.js";
import type { Backlog, Delivery, EventBus } from "./bus-contract.js";

/** Tries at setting up the stream and its consumer before the node gives up starting. */
const ENSURE_ATTEMPTS = 6;

export class JetStreamBus implements EventBus {
  readonly kind = "jetstream";
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #subject: string;
  readonly #limit: number;
  readonly #ackWaitMs: number;

  private constructor(nc: NatsConnection, stream: string, limit: number, ackWaitMs: number) {
    this.#nc = nc;
    this.#js = nc.jetstream();
    this.#stream = stream;
    this.#subject = `${stream.toLowerCase()}.in`;
    this.#limit = limit;
    this.#ackWaitMs = ackWaitMs;
  }

  static async open(cfg: AppConfig): Promise<JetStreamBus> {
    const nc = await connect({ servers: cfg.natsUrl.split(","), name: "esh-events", maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    const stream = `${cfg.namespace || "esh"}_EVENTS`.replace(/[^A-Za-z0-9_-]/g, "_");
    const bus = new JetStreamBus(nc, stream, cfg.analytics.backlogMaxBytes, cfg.analytics.ackWaitMs);
    // A cluster that has just started (or lost a server) may take a while to elect the stream's
    // leader: JetStream's API then times out. That is no reason for the node not to start.
    for (let attempt = 1; ; attempt++) {
      try {
        await bus.#ensure(cfg.storeReplicas);
        return bus;
      } catch (err) {
        if (attempt >= ENSURE_ATTEMPTS || !/TIMEOUT|503|no responders/i.test(String((err as { code?: unknown }).code ?? err))) {
          await nc.close().catch(() => undefined);
          throw err;
        }
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  async #ensure(replicas: number): Promise<void> {
    const jsm = await this.#nc.jetstreamManager();
    const config = {
      name: this.#stream,
      subjects: [this.#subject],
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
      num_replicas: replicas,
      max_bytes: this.#limit,
      discard: DiscardPolicy.New,
      duplicate_window: 120e9,
    };
    try {
      await jsm.streams.info(this.#stream);
      await jsm.streams.update(this.#stream, config);
    } catch {
      await jsm.streams.add(config);
    }
    const consumer = { durable_name: "analytics", ack_policy: AckPolicy.Explicit, ack_wait: this.#ackWaitMs * 1e6, max_ack_pending: 100_000 };
    await jsm.consumers.add(this.#stream, consumer).catch(() => jsm.consumers.update(this.#stream, "analytics", consumer));
  }

  async publish(batch: EncodedBatch): Promise<void> {
    if (batch.events === 0) return;
    const h = headers();
    h.set("Esh-Events", String(batch.events));
    h.set("Esh-Oldest", String(batch.oldestMs));
    if (batch.retry) h.set("Esh-Retry", "1");
    // The same bytes published twice (a publisher's retry) are stored once by JetStream.
    const msgID = createHash("sha1").update(batch.lines).digest("base64url");
    try {
      await this.#js.publish(this.#subject, batch.lines, { msgID, headers: h, timeout: 10_000 });
    } catch (err) {
      throw new AppError("UNAVAILABLE", `Events not accepted: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async fetch(maxEvents: number, waitMs: number): Promise<Delivery[]> {
    const consumer = await this.#js.consumers.get(this.#stream, "analytics");
    const out: Delivery[] = [];
    let n = 0;
    const iter = await consumer.fetch({ max_messages: Math.max(1, Math.min(10_000, Math.ceil(maxEvents / 50))), expires: Math.max(1000, waitMs) });
    for await (const m of iter) {
      const d = this.#delivery(m);
      out.push(d);
      n += d.events;
      if (n >= maxEvents) break;
    }
    return out;
  }

  #delivery(m: JsMsg): Delivery {
    return {
      lines: () => Buffer.from(m.data),
      hasRetries: m.headers?.get("Esh-Retry") === "1",
      events: Number(m.headers?.get("Esh-Events") ?? 0),
      oldestMs: Number(m.headers?.get("Esh-Oldest") ?? Date.now()),
      redelivered: m.redelivered,
      ack: async () => {
        await m.ackAck();
      },
      working: () => m.working(),
    };
  }

  async backlog(): Promise<Backlog> {
    const jsm = await this.#nc.jetstreamManager();
    const [si, ci] = await Promise.all([jsm.streams.info(this.#stream), jsm.consumers.info(this.#stream, "analytics")]);
    return { pending: ci.num_pending + ci.num_ack_pending, unit: "batches", bytes: si.state.bytes, limitBytes: this.#limit };
  }

  async close(): Promise<void> {
    await this.#nc.drain().catch(() => undefined);
  }
}
