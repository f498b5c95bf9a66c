/**
 * Where one live stream's media lives on this node: its origin router (the broadcaster's
 * producers, or the pipe from the origin node on a relay) and, as viewers pass
 * `maxConsumersPerRouter`, routers on other workers fed with `pipeToRouter`. Viewers are placed
 * on the first router with room, else on a new router on the least-loaded unused worker, else
 * on the least-loaded router.
 *
 * Owner of: the stream's routers (closing them closes everything on them).
 */
import type { types } from "mediasoup";
import { AppError } from "../lib/errors.js";
import { MEDIA_CODECS } from "./codecs.js";
import type { Hosted } from "./peer.js";
import type { WorkerPool, WorkerSlot } from "./worker-pool.js";

export class StreamRouters {
  readonly #streamId: string;
  readonly #pool: WorkerPool;
  readonly #maxConsumers: number;
  /** Called when a router closed because its worker died (not by us): the origin (everything on
   *  it is gone), or a viewers' router (only its viewers are), which is no longer used. */
  readonly #onWorkerDied: (lost: Hosted, origin: boolean) => void;
  readonly #hosts: Hosted[] = [];
  #closed = false;

  constructor(streamId: string, pool: WorkerPool, maxConsumersPerRouter: number, onWorkerDied: (lost: Hosted, origin: boolean) => void) {
    this.#streamId = streamId;
    this.#pool = pool;
    this.#maxConsumers = maxConsumersPerRouter;
    this.#onWorkerDied = onWorkerDied;
  }

  /** The first router, on the least-loaded worker. */
  async openOrigin(): Promise<Hosted> {
    return this.#add(this.#pool.pick());
  }

  origin(): Hosted {
    const h = this.#hosts[0];
    if (!h) throw new AppError("INTERNAL", "Stream has no router");
    return h;
  }

  /** Routers in use: worker slot and consumer count of each. */
  summary(): { slot: number; consumers: number }[] {
    return this.#hosts.map((h) => ({ slot: h.slot.index, consumers: h.consumers }));
  }

  /** A producer of the origin router, made available on every other router of the stream. */
  async spread(producerId: string): Promise<void> {
    for (const h of this.#hosts.slice(1)) await this.#pipe(producerId, h);
  }

  /** The router a new viewer goes to; a new one gets every current producer piped in. */
  async forViewer(producerIds: Iterable<string>): Promise<Hosted> {
    const open = this.#hosts.find((h) => h.consumers < this.#maxConsumers);
    if (open) return open;
    const used = new Set(this.#hosts.map((h) => h.slot.index));
    const slot = this.#pool.pick(used);
    if (used.has(slot.index)) return this.#hosts.reduce((a, b) => (b.consumers < a.consumers ? b : a)); // every worker already serves this stream
    const h = await this.#add(slot);
    for (const id of producerIds) await this.#pipe(id, h);
    return h;
  }

  /** A router of its own for one peer whose codecs differ from the stream's (a WHEP player). */
  async own(mediaCodecs: types.RouterRtpCodecCapability[], peerId: string): Promise<Hosted> {
    const slot = this.#pool.pick();
    const router = await slot.worker.createRouter({ mediaCodecs, appData: { streamId: this.#streamId, peerId } });
    slot.routers++;
    router.observer.once("close", () => slot.routers--);
    return { router, slot, consumers: 0 };
  }

  closeAll(): void {
    this.#closed = true;
    for (const h of this.#hosts) {
      h.router.close();
      h.slot.routers--;
    }
  }

  async #add(slot: WorkerSlot): Promise<Hosted> {
    const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { streamId: this.#streamId } });
    if (this.#closed) {
      router.close(); // the stream closed while this router was being made
      throw new AppError("CONFLICT", "The stream is no longer live here");
    }
    const h: Hosted = { router, slot, consumers: 0 };
    slot.routers++;
    this.#hosts.push(h);
    router.observer.once("close", () => {
      if (this.#closed || !router.closed || !slot.worker.closed) return;
      const origin = this.#hosts[0] === h;
      const i = this.#hosts.indexOf(h);
      if (!origin && i > 0) this.#hosts.splice(i, 1); // new viewers go to the routers left, or a new one
      this.#onWorkerDied(h, origin);
    });
    return h;
  }

  /** Pipes a producer to another router of this node (keeps its id: different workers). */
  async #pipe(producerId: string, to: Hosted): Promise<void> {
    await this.origin().router.pipeToRouter({ producerId, router: to.router });
  }
}
