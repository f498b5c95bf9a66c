/**
 * mediasoup workers of this node: one per core by default, each with one WebRtcServer (one
 * UDP+TCP port, so a node needs `workers` ports, not one per transport). A worker that dies
 * (crash, SIGKILL) is replaced in its slot; the routers it carried close with it ('workerclose'
 * on each), which is how the live streams on it learn to tell their clients to reconnect.
 */
import { EventEmitter } from "node:events";
import * as mediasoup from "mediasoup";
import type { types } from "mediasoup";
import type { AppConfig } from "../lib/config.js";
import { AppError } from "../lib/errors.js";

export interface WorkerSlot {
  readonly index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  /** Routers placed on this worker and alive (for placement). */
  routers: number;
  /** Consumers on this worker's routers (the cost that grows with viewers). */
  consumers: number;
}

export interface PoolLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

type PoolEvents = { died: [slot: number, pid: number, err: Error]; replaced: [slot: number, pid: number] };

const RESPAWN_DELAY_MS = 500;

export class WorkerPool extends EventEmitter<PoolEvents> {
  readonly #cfg: AppConfig["media"];
  readonly #log: PoolLogger;
  readonly #slots: WorkerSlot[] = [];
  #closed = false;

  private constructor(cfg: AppConfig["media"], log: PoolLogger) {
    super();
    this.#cfg = cfg;
    this.#log = log;
  }

  static async create(cfg: AppConfig["media"], count: number, log: PoolLogger): Promise<WorkerPool> {
    const pool = new WorkerPool(cfg, log);
    try {
      for (let i = 0; i < count; i++) {
        const slot: WorkerSlot = { index: i, ...(await pool.#spawn(i)), routers: 0, consumers: 0 };
        pool.#watch(slot);
        pool.#slots.push(slot);
      }
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get slots(): readonly WorkerSlot[] {
    return this.#slots;
  }

  /** The slot with the fewest consumers (then routers), optionally avoiding some. */
  pick(avoid: ReadonlySet<number> = new Set()): WorkerSlot {
    const candidates = this.#slots.filter((s) => !avoid.has(s.index) && !s.worker.closed);
    const list = candidates.length > 0 ? candidates : this.#slots.filter((s) => !s.worker.closed);
    const best = list.sort((a, b) => a.consumers - b.consumers || a.routers - b.routers)[0];
    if (!best) throw new AppError("UNAVAILABLE", "No mediasoup worker is up on this node (one is restarting): retry shortly");
    return best;
  }

  slot(index: number): WorkerSlot {
    const s = this.#slots[index];
    if (!s) throw new Error(`no worker slot ${index}`);
    return s;
  }

  async usage(): Promise<{ slot: number; pid: number; routers: number; consumers: number; cpuMs: number }[]> {
    return Promise.all(
      this.#slots.map(async (s) => {
        const u = await s.worker.getResourceUsage().catch(() => undefined);
        return { slot: s.index, pid: s.worker.pid, routers: s.routers, consumers: s.consumers, cpuMs: u ? u.ru_utime + u.ru_stime : 0 };
      }),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) s.worker.close();
  }

  async #spawn(index: number): Promise<Pick<WorkerSlot, "worker" | "webRtcServer">> {
    const worker = await mediasoup.createWorker({ logLevel: this.#cfg.workerLogLevel, appData: { slot: index } });
    let webRtcServer: types.WebRtcServer;
    try {
      webRtcServer = await worker.createWebRtcServer({ listenInfos: this.#listenInfos(index) });
    } catch (err) {
      worker.close();
      throw err;
    }
    this.#log.info(`mediasoup worker ${index} started (pid ${worker.pid}); WebRTC on ${webRtcServer.id.slice(0, 8)} ${this.#describe(index)}`);
    return { worker, webRtcServer };
  }

  /** The slot's current worker dying is handled (replaced) once. */
  #watch(slot: WorkerSlot): void {
    slot.worker.once("died", (err) => this.#onDied(slot, err));
  }

  #listenInfos(index: number): types.TransportListenInfo[] {
    const { listenIp, announcedAddress, rtcPort } = this.#cfg;
    const port = rtcPort === 0 ? {} : { port: rtcPort + index };
    const announced = announcedAddress ? { announcedAddress } : {};
    return [
      { protocol: "udp", ip: listenIp, ...announced, ...port },
      { protocol: "tcp", ip: listenIp, ...announced, ...port },
    ];
  }

  #describe(index: number): string {
    return this.#cfg.rtcPort === 0 ? `${this.#cfg.listenIp}:<free port>` : `${this.#cfg.listenIp}:${this.#cfg.rtcPort + index}`;
  }

  #onDied(slot: WorkerSlot, err: Error): void {
    if (this.#closed) return;
    this.#log.error(`mediasoup worker ${slot.index} (pid ${slot.worker.pid}) died: ${err.message}; replacing it`);
    this.emit("died", slot.index, slot.worker.pid, err);
    slot.routers = 0;
    slot.consumers = 0;
    const respawn = (): void => {
      if (this.#closed) return;
      this.#spawn(slot.index).then(
        (fresh) => {
          if (this.#closed) return fresh.worker.close();
          slot.worker = fresh.worker;
          slot.webRtcServer = fresh.webRtcServer;
          this.#watch(slot);
          this.emit("replaced", slot.index, fresh.worker.pid);
        },
        (e: unknown) => {
          this.#log.error(`mediasoup worker ${slot.index} could not restart: ${String(e)}; retrying`);
          setTimeout(respawn, RESPAWN_DELAY_MS * 4).unref();
        },
      );
    };
    setTimeout(respawn, RESPAWN_DELAY_MS).unref();
  }
}
