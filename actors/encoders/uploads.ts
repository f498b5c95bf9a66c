/**
 * Resumable uploads, the bookkeeping side (the gateway writes each chunk into the blob store as
 * a part and speaks tus 1.0 to clients; see gateway/http/routes-vod.ts).
 * An upload is bound to a new VOD stream of its creator. Its offset only moves forward, by
 * compare-and-swap, so two racing PATCHes cannot both count. When the last byte arrives the
 * parts are joined on this node (kept for the encoding job if it runs here) and checked with ffprobe: a bad file fails its stream at once with the reason; a good one
 * moves the stream to `processing` and becomes an encoding job.
 */
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError, hasCode } from "../../lib/errors.js";
import { probeUpload } from "../../media/probe.js";
import type { Store } from "../../store/index.js";
import type { Sources } from "./sources.js";

export interface Upload {
  id: string;
  streamId: string;
  ownerId: string;
  length: number;
  offset: number;
  filename: string;
  state: "receiving" | "complete" | "rejected";
  error?: string;
  createdAt: number;
  /** The last chunk's arrival (absent until the first). */
  updatedAt?: number;
  /** The PATCH writing bytes now: one at a time, so no chunk can land after the upload completed
   *  (and was probed) or overwrite another's bytes. */
  writing?: { token: string; until: number };
}

/** How long a chunk's write may hold the upload (the bytes are already in memory when it starts). */
const WRITE_LEASE_MS = 30_000;

/** An upload that received nothing for this long is abandoned: it no longer counts against its
 *  creator's quotas (its bytes can still be sent; tus clients resume). */
export const UPLOAD_IDLE_MS = 24 * 3600 * 1000;

const C = "uploads";
/** Uploads up to this size are joined and probed as their last chunk arrives (that PATCH then
 *  answers 400 for a file that is not media); bigger ones by their encoding job. */
export const PROBE_ON_UPLOAD_MAX_BYTES = 256 * 1024 ** 2;

export class Uploads {
  readonly #store: Store;
  readonly #cfg: AppConfig;
  readonly #sources: Sources;

  constructor(store: Store, cfg: AppConfig, sources: Sources) {
    this.#store = store;
    this.#cfg = cfg;
    this.#sources = sources;
  }

  /** Records a new upload (its size was checked against vod.maxUploadBytes before its stream was made). */
  async create(u: Upload): Promise<Upload> {
    await this.#store.put(C, u.id, u, { expect: 0 });
    return u;
  }

  /** This creator's uploads still receiving bytes (the upload quotas). */
  async receivingOf(ownerId: string): Promise<Upload[]> {
    const now = Date.now();
    return (await this.#store.list<Upload>(C)).map((e) => e.value).filter((u) => u.ownerId === ownerId && u.state === "receiving" && now - (u.updatedAt ?? u.createdAt) < UPLOAD_IDLE_MS);
  }

  /** The upload's VOD stream, once made (an upload is recorded before it, for the quotas). */
  async bind(id: string, streamId: string): Promise<Upload> {
    const e = await this.#store.get<Upload>(C, id);
    if (!e) throw new AppError("NOT_FOUND", "No such upload");
    const u = { ...e.value, streamId };
    await this.#store.put(C, id, u, { expect: e.revision });
    return u;
  }

  /** Every upload of a deleted stream still receiving bytes is rejected (its chunks refused). */
  async rejectForStream(streamId: string, why: string): Promise<number> {
    let n = 0;
    for (const e of await this.#store.list<Upload>(C)) {
      if (e.value.streamId !== streamId || e.value.state !== "receiving") continue;
      const next: Upload = { ...e.value, state: "rejected", error: why };
      delete next.writing;
      await this.#store.put(C, e.key, next, { expect: e.revision }).then(() => n++, () => undefined);
    }
    return n;
  }

  /** Withdraws an upload that was refused or whose stream could not be made. */
  async drop(id: string): Promise<void> {
    await this.#store.delete(C, id).catch(() => undefined);
  }

  async get(id: string): Promise<Upload> {
    const e = await this.#store.get<Upload>(C, id);
    if (!e) throw new AppError("NOT_FOUND", "No such upload");
    return e.value;
  }

  /** Takes the upload for writing bytes from..to (compare-and-swap): CONFLICT while another PATCH
   *  writes, or when the offset moved or the upload is no longer receiving. */
  async reserve(id: string, from: number, to: number): Promise<{ token: string; streamId: string }> {
    const e = await this.#store.get<Upload>(C, id);
    if (!e) throw new AppError("NOT_FOUND", "No such upload");
    const u = this.#writable(e.value, from, to);
    if (u.writing && u.writing.until > Date.now()) throw new AppError("CONFLICT", "Another PATCH of this upload is being written: retry after it", { offset: u.offset });
    const token = randomBytes(9).toString("base64url");
    await this.#store.put(C, id, { ...u, writing: { token, until: Date.now() + WRITE_LEASE_MS } }, { expect: e.revision });
    return { token, streamId: u.streamId };
  }

  /** Moves the offset from `from` to `to` (the holder of `token` wrote those bytes) and frees the upload. */
  async advance(id: string, from: number, to: number, token: string): Promise<Upload> {
    const e = await this.#store.get<Upload>(C, id);
    if (!e) throw new AppError("NOT_FOUND", "No such upload");
    const u = this.#writable(e.value, from, to);
    if (u.writing?.token !== token) throw new AppError("CONFLICT", "This chunk's write lease was lost: send it again", { offset: u.offset });
    const next: Upload = { ...u, offset: to, state: to === u.length ? "complete" : "receiving", updatedAt: Date.now() };
    delete next.writing;
    await this.#store.put(C, id, next, { expect: e.revision });
    return next;
  }

  /** A reserved write failed: the upload is free again (the offset did not move). */
  async release(id: string, token: string): Promise<void> {
    const e = await this.#store.get<Upload>(C, id);
    if (e?.value.writing?.token !== token) return;
    const next: Upload = { ...e.value };
    delete next.writing;
    await this.#store.put(C, id, next, { expect: e.revision }).catch(() => undefined);
  }

  #writable(u: Upload, from: number, to: number): Upload {
    if (u.state !== "receiving") throw new AppError("CONFLICT", `The upload is ${u.state}`);
    if (u.offset !== from) throw new AppError("CONFLICT", `Upload-Offset is ${u.offset}, not ${from}`, { offset: u.offset });
    if (to < from || to > u.length) throw new AppError("BAD_REQUEST", "The chunk goes past Upload-Length");
    return u;
  }

  /** The upload is complete: probe it, then either queue it for encoding or reject it. With the
   *  blob store away, or a file bigger than PROBE_ON_UPLOAD_MAX_BYTES, the probe is left to the
   *  job (which waits for the store): nothing is lost. */
  async finish(u: Upload, broker: ServiceBroker): Promise<void> {
    try {
      // A big file is joined and probed by its job instead: the last PATCH answers within its call.
      if (u.length <= PROBE_ON_UPLOAD_MAX_BYTES) await probeUpload(await this.#sources.join(u.streamId, u.length), this.#cfg.vod);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!hasCode(err, "BAD_REQUEST")) {
        broker.logger.warn(`uploads: ${u.id} not probed now (${message}): its encoding job will`);
      } else {
        await this.#store.put(C, u.id, { ...u, state: "rejected", error: message });
        await broker.call("streams.setStatus", { id: u.streamId, status: "processing" }).catch(() => undefined);
        await broker.call("streams.setStatus", { id: u.streamId, status: "failed" }).catch(() => undefined);
        broker.logger.warn(`uploads: ${u.id} (${u.filename}) rejected: ${message}`);
        throw err;
      }
    }
    await broker.call("streams.setStatus", { id: u.streamId, status: "processing" });
    await broker.call("encoders.submit", { streamId: u.streamId, ownerId: u.ownerId, sourceBytes: u.length });
  }
}
