/**
 * encoders actor: turns uploads into encrypted HLS ladders. Jobs live in the store (jobs.ts);
 * every encoders node claims up to `encoderConcurrency` (default: one per core) and runs one
 * ffmpeg process per job (media/ladder.ts). Progress goes to the creator's connections
 * (event `encoders.progress` to the gateways). The source comes from the blob store (the
 * upload's parts, joined in local scratch space: sources.ts); the ladder goes back to it under
 * vod/<stream id>/, written again whole by each attempt, retried while the store is away; the
 * AES-128 key goes to the store (collection `media_keys`), never next to the segments.
 *   submit, streamRemoved [internal]  get [creator, owner]  cancel [creator, owner]  list [admin]
 *   uploadCreate [creator]  upload, uploadReserve, uploadAdvance, uploadRelease [creator, owner]  (uploads.ts)
 */
import { backfillCards } from "./card-backfill.js";
import { deleteStreamObjects, type BlobStore } from "../../blobs/index.js";
import { Sources } from "./sources.js";
import { randomBytes } from "node:crypto";
import os from "node:os";
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError, hasCode } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import { encodeLadder } from "../../media/ladder.js";
import { probeUpload } from "../../media/probe.js";
import type { Store } from "../../store/index.js";
import { assertOwnerOrAdmin } from "../ownership.js";
import { JobQueue, type EncodeJob, type JobStatus } from "./jobs.js";
import { Uploads, type Upload } from "./uploads.js";
import type { Stream } from "../streams/streams.service.js";
import { ID_SCHEMA } from "../../protocol/ids.js";

type Ctx<P> = Context<P, CallMeta>;
const id = ID_SCHEMA;
const TICK_MS = 1000;
/** How long an admitted upload waits before it checks its rank again (a store round trip or two). */
const RANK_SETTLE_MS = 50;

function registerEncoderMetrics(broker: ServiceBroker): void {
  const m = broker.metrics;
  m.register({ type: "gauge", name: "esh.encoders.jobs", labelNames: ["status"], description: "Encoding jobs in the queue, by status (whole cluster)" });
  m.register({ type: "gauge", name: "esh.encoders.running.here", description: "Encoding jobs running on this node" });
  m.register({ type: "gauge", name: "esh.encoders.slots", description: "Encoding jobs this node runs at once" });
  m.register({ type: "counter", name: "esh.encoders.attempts.total", labelNames: ["result"], description: "Finished encoding attempts on this node, by result (done, retry, failed)" });
}

/** What the gateway pushes to the stream owner's connections as `encode.progress`. */
export interface EncodeProgress {
  streamId: string;
  ownerId: string;
  status: EncodeJob["status"];
  percent: number;
  error?: string;
}

export function encodersService(cfg: AppConfig, store: Store, blobs: BlobStore): ServiceSchema {
  let queue: JobQueue;
  const sources = new Sources(blobs, cfg.dataDir, cfg.blobs.retryMs);
  const uploads = new Uploads(store, cfg, sources);
  let timer: NodeJS.Timeout | undefined;
  let metricsTimer: NodeJS.Timeout | undefined;
  let ticking = false;
  let swept = 0;
  const running = new Map<string, AbortController>();
  const concurrency = cfg.vod.encoderConcurrency || os.availableParallelism();

  const tick = async (broker: ServiceBroker): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      while (running.size < concurrency) {
        const job = await queue.claim();
        if (!job) break;
        const ac = new AbortController();
        running.set(job.id, ac);
        void runJob(broker, job, ac).finally(() => running.delete(job.id));
      }
    } catch (err) {
      broker.logger.warn(`encoders: claiming jobs failed: ${String(err)}`);
    } finally {
      ticking = false;
    }
  };

  const runJob = async (broker: ServiceBroker, job: EncodeJob, ac: AbortController): Promise<void> => {
    const tell = (p: Omit<EncodeProgress, "streamId" | "ownerId">) =>
      broker.broadcast("encoders.progress", { streamId: job.streamId, ownerId: job.ownerId, ...p }, { groups: ["gateway"] }).catch(() => undefined);
    let percent = 0;
    let told = 0;
    const renew = setInterval(() => {
      void queue.renew(job.id, percent).then((ours) => ours || ac.abort(), () => undefined);
    }, Math.max(500, cfg.vod.jobLeaseMs / 3));
    broker.logger.info(`encoders: job ${job.id} attempt ${job.attempts} starts`);
    try {
      const input = await sources.join(job.streamId, job.sourceBytes, ac.signal);
      const info = await probeUpload(input, cfg.vod);
      const key = randomBytes(16);
      await store.put("media_keys", job.streamId, { key: key.toString("base64") });
      const outDir = sources.outDir(job.id);
      const onProgress = (p: number) => {
        percent = Math.round(p);
        if (Date.now() - told < 500) return;
        told = Date.now();
        void tell({ status: "running", percent });
      };
      const started = Date.now();
      const rungs = await encodeLadder({ input, outDir, info, key: { uri: `/api/keys/${job.streamId}`, bytes: key, iv: randomBytes(16) }, onProgress, signal: ac.signal });
      const objects = await sources.publish(job.streamId, outDir, ac.signal);
      await broker.call("streams.setStatus", { id: job.streamId, status: "ready", durationSec: info.durationSec }).catch(async (err: unknown) => {
        // Deleted while it was encoding: what was just written goes too.
        if (hasCode(err, "NOT_FOUND")) await deleteStreamObjects(blobs, job.streamId).catch(() => undefined);
        throw err;
      });
      await queue.finish(job.id, "done");
      sources.clean(job.id, job.streamId);
      broker.metrics.increment("esh.encoders.attempts.total", { result: "done" });
      const speed = info.durationSec / ((Date.now() - started) / 1000);
      broker.logger.info(`encoders: job ${job.id} done: ${rungs.map((r) => r.name).join("/")} at ${speed.toFixed(2)}x realtime, ${String(objects)} objects in the blob store`);
      await tell({ status: "done", percent: 100 });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (ac.signal.aborted) {
        broker.logger.info(`encoders: job ${job.id} stopped (${message})`);
        const j = await queue.get(job.id);
        if (j?.status === "cancelled") await failStream(broker, job.streamId, "cancelled").then(() => tell({ status: "cancelled", percent }));
        return;
      }
      const final = hasCode(err, "BAD_REQUEST") || job.attempts >= cfg.vod.maxAttempts;
      broker.logger.warn(`encoders: job ${job.id} attempt ${job.attempts} failed${final ? " for good" : ", will retry"}: ${message}`);
      await queue.finish(job.id, final ? "failed" : "queued", message).catch(() => undefined);
      broker.metrics.increment("esh.encoders.attempts.total", { result: final ? "failed" : "retry" });
      if (final) {
        await failStream(broker, job.streamId, message);
        await tell({ status: "failed", percent, error: message });
      }
    } finally {
      clearInterval(renew);
      sources.clean(job.id);
    }
  };

  /** The queue as Prometheus sees it: jobs by status (whole cluster) and this node's running ones. */
  const sampleQueue = async (broker: ServiceBroker): Promise<void> => {
    const counts: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
    for (const j of await queue.list()) counts[j.status]++;
    for (const [status, n] of Object.entries(counts)) broker.metrics.set("esh.encoders.jobs", n, { status });
    broker.metrics.set("esh.encoders.running.here", running.size);
    broker.metrics.set("esh.encoders.slots", concurrency);
  };

  const failStream = async (broker: ServiceBroker, streamId: string, why: string): Promise<void> => {
    await broker.call("streams.setStatus", { id: streamId, status: "failed" }).catch((e: unknown) => broker.logger.warn(`encoders: could not mark ${streamId} failed (${why}): ${String(e)}`));
  };

  /** A creator's quotas (admins are exempt). The upload is recorded first and then ranked among
   *  the creator's uploads in progress: requests racing on any number of nodes are admitted in
   *  one order, and only as many as the quotas allow; the others are withdrawn and refused. */
  const admitWithinQuotas = async (u: Upload): Promise<void> => {
    const v = cfg.vod;
    const jobs = await queue.pendingOf(u.ownerId);
    const refuse = (quota: string, limit: number, what: string) => new AppError("RATE_LIMITED", `Quota: ${what}`, { quota, limit, retryAfterSec: 60 });
    if (jobs >= v.maxQueuedJobsPerCreator) throw refuse("jobs", v.maxQueuedJobsPerCreator, `at most ${v.maxQueuedJobsPerCreator} videos waiting for or in encoding`);
    await uploads.create(u);
    const over = async (): Promise<AppError | undefined> => {
      const ahead = (await uploads.receivingOf(u.ownerId)).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
      const mine = ahead.findIndex((x) => x.id === u.id);
      const before = mine < 0 ? ahead : ahead.slice(0, mine);
      const pending = before.reduce((n, x) => n + (x.length - x.offset), 0);
      if (before.length >= v.maxActiveUploadsPerCreator) return refuse("uploads", v.maxActiveUploadsPerCreator, `at most ${v.maxActiveUploadsPerCreator} uploads in progress at once: finish or wait for one`);
      if (pending + u.length > v.maxPendingBytesPerCreator) return refuse("bytes", v.maxPendingBytesPerCreator, `at most ${v.maxPendingBytesPerCreator} bytes of uploads in progress (${pending} already)`);
      return undefined;
    };
    // Twice: a racer created just before us may not have been visible to the first look; by the
    // second it is, and the later of the two withdraws (never both: creation order is total).
    let why = await over();
    if (!why) {
      await new Promise((r) => setTimeout(r, RANK_SETTLE_MS));
      why = await over();
    }
    if (why) {
      await uploads.drop(u.id);
      throw why;
    }
  };

  const owned = async (ctx: Ctx<{ streamId: string }>): Promise<EncodeJob> => {
    const job = await queue.get(ctx.params.streamId);
    if (!job) throw new AppError("NOT_FOUND", "No encoding job for this stream");
    assertOwnerOrAdmin(ctx.meta.caller, job.ownerId);
    return job;
  };

  return {
    name: "encoders",
    actions: {
      submit: {
        access: "internal",
        params: { streamId: id, ownerId: id, sourceBytes: { type: "number", integer: true, min: 1 } },
        async handler(ctx: Ctx<{ streamId: string; ownerId: string; sourceBytes: number }>) {
          const job = await queue.enqueue(ctx.params);
          void tick(ctx.broker);
          return job;
        },
      },
      get: { access: "creator", params: { streamId: id }, handler: (ctx: Ctx<{ streamId: string }>) => owned(ctx) },
      cancel: {
        access: "creator",
        params: { streamId: id },
        async handler(ctx: Ctx<{ streamId: string }>) {
          const job = await owned(ctx);
          if (!(await queue.cancel(job.id))) throw new AppError("CONFLICT", `The job is ${job.status}`);
          running.get(job.id)?.abort();
          if (job.status === "queued") await failStream(ctx.broker, job.streamId, "cancelled");
          return { cancelled: job.id };
        },
      },
      list: { access: "admin", handler: () => queue.list() },
      streamRemoved: {
        access: "internal",
        params: { streamId: id },
        async handler(ctx: Ctx<{ streamId: string }>) {
          // No more bytes for it (its uploads refuse chunks), and no more encoding.
          const dropped = await uploads.rejectForStream(ctx.params.streamId, "The stream was deleted");
          const cancelled = await queue.cancel(ctx.params.streamId);
          running.get(ctx.params.streamId)?.abort();
          return { dropped, cancelled };
        },
      },
      uploadCreate: {
        access: "creator",
        params: { title: { type: "string", min: 1, max: 200, trim: true }, length: { type: "number", integer: true, min: 1 }, filename: { type: "string", max: 255, optional: true } },
        async handler(ctx: Ctx<{ title: string; length: number; filename?: string }>) {
          const caller = ctx.meta.caller;
          if (caller?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
          if (ctx.params.length > cfg.vod.maxUploadBytes) throw new AppError("PAYLOAD_TOO_LARGE", `Uploads are limited to ${cfg.vod.maxUploadBytes} bytes`);
          const ownerId = caller.principal.userId;
          const u: Upload = { id: randomBytes(12).toString("base64url"), streamId: "", ownerId, length: ctx.params.length, offset: 0, filename: (ctx.params.filename ?? "").slice(0, 255), state: "receiving", createdAt: Date.now() };
          if (caller.principal.role === "admin") await uploads.create(u);
          else await admitWithinQuotas(u);
          try {
            const stream = await ctx.call<Stream, { title: string; kind: string }>("streams.create", { title: ctx.params.title, kind: "vod" });
            return await uploads.bind(u.id, stream.id);
          } catch (err) {
            await uploads.drop(u.id);
            throw err;
          }
        },
      },
      upload: {
        access: "creator",
        params: { id },
        async handler(ctx: Ctx<{ id: string }>) {
          const u = await uploads.get(ctx.params.id);
          assertOwnerOrAdmin(ctx.meta.caller, u.ownerId);
          return u;
        },
      },
      /** A PATCH is about to write from..to: one writer per upload at a time. */
      uploadReserve: {
        access: "creator",
        params: { id, from: { type: "number", integer: true, min: 0 }, to: { type: "number", integer: true, min: 0 } },
        async handler(ctx: Ctx<{ id: string; from: number; to: number }>) {
          const before = await uploads.get(ctx.params.id);
          assertOwnerOrAdmin(ctx.meta.caller, before.ownerId);
          return uploads.reserve(ctx.params.id, ctx.params.from, ctx.params.to);
        },
      },
      uploadRelease: {
        access: "creator",
        params: { id, token: { type: "string", min: 1, max: 64 } },
        async handler(ctx: Ctx<{ id: string; token: string }>) {
          const before = await uploads.get(ctx.params.id);
          assertOwnerOrAdmin(ctx.meta.caller, before.ownerId);
          await uploads.release(ctx.params.id, ctx.params.token);
          return { released: true };
        },
      },
      uploadAdvance: {
        access: "creator",
        params: { id, from: { type: "number", integer: true, min: 0 }, to: { type: "number", integer: true, min: 0 }, token: { type: "string", min: 1, max: 64 } },
        async handler(ctx: Ctx<{ id: string; from: number; to: number; token: string }>) {
          const before = await uploads.get(ctx.params.id);
          assertOwnerOrAdmin(ctx.meta.caller, before.ownerId);
          const u = await uploads.advance(ctx.params.id, ctx.params.from, ctx.params.to, ctx.params.token);
          if (u.state === "complete") await uploads.finish(u, ctx.broker);
          return u;
        },
      },
    },
    started() {
      queue = new JobQueue(store, this.broker.nodeID, cfg.vod.jobLeaseMs);
      timer = setInterval(() => void tick(this.broker), TICK_MS);
      timer.unref();
      registerEncoderMetrics(this.broker);
      metricsTimer = setInterval(() => {
        void sampleQueue(this.broker).catch(() => undefined);
        if (Date.now() - swept > 10 * 60_000) {
          swept = Date.now();
          sources.sweep();
        }
      }, 5000);
      metricsTimer.unref();
      this.logger.info(`encoders: up to ${concurrency} jobs at once on this node`);
      // Videos encoded before card images get theirs, once, in the background.
      setTimeout(() => void backfillCards(store, blobs, (m) => this.logger.info(m)).catch((err: unknown) => this.logger.warn(`encoders: card images for older videos failed: ${String(err)}`)), 5000).unref();
    },
    async stopped() {
      clearInterval(timer);
      clearInterval(metricsTimer);
      for (const [jobId, ac] of running) {
        ac.abort();
        await queue.finish(jobId, "queued").catch(() => undefined); // another node takes it now
      }
    },
  };
}
