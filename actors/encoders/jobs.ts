/**
 * The encoding job queue, persisted in the store (collection `encode_jobs`, one record per VOD
 * stream). Nodes claim jobs with compare-and-swap and hold them by a lease they renew; a node
 * that dies stops renewing, and after `jobLeaseMs` another node claims the job again (a new
 * attempt). A cancelled job is noticed by its runner at the next renewal.
 */
import type { Store } from "../../store/index.js";
import { hasCode } from "../../lib/errors.js";

export type JobStatus = "queued" | "running" | "done" | "failed" | "cancelled";

export interface EncodeJob {
  id: string;
  streamId: string;
  ownerId: string;
  /** The source: its parts are in the blob store under uploads/<streamId>/, this many bytes in all. */
  sourceBytes: number;
  status: JobStatus;
  attempts: number;
  node?: string;
  leaseUntil?: number;
  progress: number;
  error?: string;
  createdAt: number;
  updatedAt: number;
}

const C = "encode_jobs";

export class JobQueue {
  readonly #store: Store;
  readonly #node: string;
  readonly #leaseMs: number;

  constructor(store: Store, node: string, leaseMs: number) {
    this.#store = store;
    this.#node = node;
    this.#leaseMs = leaseMs;
  }

  async enqueue(job: Pick<EncodeJob, "streamId" | "ownerId" | "sourceBytes">): Promise<EncodeJob> {
    const now = Date.now();
    const rec: EncodeJob = { ...job, id: job.streamId, status: "queued", attempts: 0, progress: 0, createdAt: now, updatedAt: now };
    await this.#store.put(C, rec.id, rec, { expect: 0 });
    return rec;
  }

  async get(id: string): Promise<EncodeJob | undefined> {
    return (await this.#store.get<EncodeJob>(C, id))?.value;
  }

  async list(): Promise<EncodeJob[]> {
    return (await this.#store.list<EncodeJob>(C)).map((e) => e.value);
  }

  /** Jobs of this creator still to do (queued or running): the encode-job quota. */
  async pendingOf(ownerId: string): Promise<number> {
    return (await this.list()).filter((j) => j.ownerId === ownerId && (j.status === "queued" || j.status === "running")).length;
  }

  /** Claims a claimable job (queued, or running with an expired lease); undefined if none.
   *  Fair across creators: the job of the creator with the fewest jobs running goes first, the
   *  oldest among equals, so one creator's backlog cannot hold everyone else's uploads back. */
  async claim(): Promise<EncodeJob | undefined> {
    const now = Date.now();
    const all = await this.#store.list<EncodeJob>(C);
    const runningOf = new Map<string, number>();
    for (const { value: j } of all) if (j.status === "running" && (j.leaseUntil ?? 0) >= now) runningOf.set(j.ownerId, (runningOf.get(j.ownerId) ?? 0) + 1);
    const share = (j: EncodeJob) => runningOf.get(j.ownerId) ?? 0;
    const entries = all
      .filter((e) => e.value.status === "queued" || (e.value.status === "running" && (e.value.leaseUntil ?? 0) < now))
      .sort((a, b) => share(a.value) - share(b.value) || a.value.createdAt - b.value.createdAt);
    for (const e of entries) {
      const next: EncodeJob = { ...e.value, status: "running", node: this.#node, leaseUntil: now + this.#leaseMs, attempts: e.value.attempts + 1, updatedAt: now };
      try {
        await this.#store.put(C, e.key, next, { expect: e.revision });
        return next;
      } catch (err) {
        if (!hasCode(err, "CONFLICT")) throw err; // another node took it: try the next
      }
    }
    return undefined;
  }

  /** Renews this node's lease and records progress; false when the job is no longer ours (cancelled, taken). */
  async renew(id: string, progress: number): Promise<boolean> {
    return this.#update(id, (j) => (j.status === "running" && j.node === this.#node ? { ...j, progress, leaseUntil: Date.now() + this.#leaseMs } : undefined));
  }

  async finish(id: string, status: "done" | "failed" | "queued", error?: string): Promise<boolean> {
    return this.#update(id, (j) => (j.node === this.#node && j.status === "running" ? { ...j, status, progress: status === "done" ? 100 : j.progress, ...(error ? { error } : {}) } : undefined));
  }

  async cancel(id: string): Promise<boolean> {
    return this.#update(id, (j) => (j.status === "queued" || j.status === "running" ? { ...j, status: "cancelled" } : undefined));
  }

  /** Read-modify-write with compare-and-swap, retried on concurrent changes. */
  async #update(id: string, change: (j: EncodeJob) => EncodeJob | undefined): Promise<boolean> {
    for (let i = 0; i < 5; i++) {
      const e = await this.#store.get<EncodeJob>(C, id);
      const next = e ? change(e.value) : undefined;
      if (!e || !next) return false;
      try {
        await this.#store.put(C, id, { ...next, updatedAt: Date.now() }, { expect: e.revision });
        return true;
      } catch (err) {
        if (!hasCode(err, "CONFLICT")) throw err;
      }
    }
    return false;
  }
}
