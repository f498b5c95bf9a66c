/**
 * An encoder's local scratch space and the blob store: an upload's parts (`uploads/<stream>/
 * <offset>`, one per tus PATCH, written by whichever gateway took it) are joined into a source
 * file here, and an encoded ladder is written back to `vod/<stream>/`. Nothing here is shared
 * with another node; the scratch directory is emptied of a job's files when the job ends.
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import path from "node:path";
import { finished } from "node:stream/promises";
import { partRange, retrying, type BlobStore } from "../../blobs/index.js";
import { AppError } from "../../lib/errors.js";

/** Scratch files older than this are left behind by something: swept. */
const SCRATCH_TTL_MS = 6 * 3600 * 1000;

export class Sources {
  readonly #blobs: BlobStore;
  readonly #dir: string;
  readonly #retryMs: number;

  constructor(blobs: BlobStore, dataDir: string, retryMs: number) {
    this.#blobs = blobs;
    this.#dir = path.join(dataDir, "scratch");
    this.#retryMs = retryMs;
  }

  /** Where a stream's joined source is kept on this node. */
  sourceFile(streamId: string): string {
    return path.join(this.#dir, `src-${streamId}`);
  }

  /** A fresh output directory for one encoding attempt. */
  outDir(jobId: string): string {
    const d = path.join(this.#dir, `enc-${jobId}`);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
    return d;
  }

  /**
   * The stream's source as one local file: its parts followed from offset 0, each starting where
   * the last ended, up to `length` (when known; else as far as they go). A part a late writer
   * left (its lease lost) starts where a committed one does but ends elsewhere: the chain that
   * reaches the length is followed. Reused when already joined here with that length.
   * BAD_REQUEST when no chain does.
   */
  async join(streamId: string, length?: number, signal?: AbortSignal): Promise<string> {
    const file = this.sourceFile(streamId);
    if (length !== undefined && existsSync(file) && statSync(file).size === length) return file;
    mkdirSync(this.#dir, { recursive: true });
    const parts = (await retrying(() => this.#blobs.list(`uploads/${streamId}/`), this.#retryMs, signal)).flatMap((p) => {
      const r = partRange(p.key);
      return r && r[1] - r[0] === p.size ? [{ key: p.key, from: r[0], to: r[1] }] : [];
    });
    const chain = chainOf(parts, length);
    if (!chain) throw new AppError("BAD_REQUEST", `The upload's bytes are incomplete in the store (${String(length ?? "?")} bytes expected)`);
    const tmp = `${file}.part`;
    const out = createWriteStream(tmp);
    try {
      for (const p of chain) {
        if (signal?.aborted) throw new AppError("UNAVAILABLE", "stopped");
        // One part at a time, as big as one upload chunk (recordings are cut to that size too).
        const blob = await retrying(() => this.#blobs.get(p.key), this.#retryMs, signal);
        if (!blob) throw new AppError("UNAVAILABLE", `part ${p.key} went away while it was read`);
        if (!out.write(blob.body)) await new Promise<void>((r) => out.once("drain", () => r()));
      }
      out.end();
      await finished(out);
      await rename(tmp, file);
      return file;
    } catch (err) {
      out.destroy();
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** Writes an encoded ladder (every file below `dir`) to vod/<stream>/ (an attempt writes the
   *  same names as an earlier one: same input, same ladder). */
  async publish(streamId: string, dir: string, signal?: AbortSignal): Promise<number> {
    const files = walk(dir);
    // Playlists last: a player never finds a playlist naming a segment not yet written.
    files.sort((a, b) => Number(a.endsWith(".m3u8")) - Number(b.endsWith(".m3u8")));
    for (const rel of files) {
      if (signal?.aborted) throw new AppError("UNAVAILABLE", "stopped: the job is no longer ours");
      const key = `vod/${streamId}/${rel.split(path.sep).join("/")}`;
      await retrying(() => this.#blobs.putFile(key, path.join(dir, rel)), this.#retryMs, signal);
    }
    return files.length;
  }

  /** Scratch files nobody has touched for SCRATCH_TTL_MS (a source probed here but encoded
   *  elsewhere, a job that died with its node): removed. */
  sweep(): void {
    const now = Date.now();
    if (!existsSync(this.#dir)) return;
    for (const e of readdirSync(this.#dir, { withFileTypes: true })) {
      const p = path.join(this.#dir, e.name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st && now - st.mtimeMs > SCRATCH_TTL_MS && /^(src|enc)-/.test(e.name)) rmSync(p, { recursive: true, force: true });
    }
  }

  /** Drops a job's scratch files (its output directory and, when done with, the source). */
  clean(jobId: string, streamId?: string): void {
    rmSync(path.join(this.#dir, `enc-${jobId}`), { recursive: true, force: true });
    if (streamId) rmSync(this.sourceFile(streamId), { force: true });
  }
}

/** The parts that follow each other from 0 to `length` (to their end when it is unknown): a
 *  depth-first search, longest part first, that never tries an offset twice. */
export function chainOf<P extends { from: number; to: number }>(parts: P[], length?: number): P[] | undefined {
  const byFrom = new Map<number, P[]>();
  for (const p of parts) if (p.to > p.from && (length === undefined || p.to <= length)) byFrom.set(p.from, [...(byFrom.get(p.from) ?? []), p]);
  for (const list of byFrom.values()) list.sort((a, b) => b.to - a.to);
  const dead = new Set<number>();
  const path: P[] = [];
  const tried: number[] = [];
  let at = 0;
  let i = 0;
  for (;;) {
    const next = byFrom.get(at) ?? [];
    if (length === undefined ? at > 0 && next.length === 0 : at === length) return path;
    const p = next.slice(i).find((c) => !dead.has(c.to));
    if (p) {
      tried.push(next.indexOf(p));
      path.push(p);
      at = p.to;
      i = 0;
      continue;
    }
    dead.add(at);
    const last = path.pop();
    if (!last) return undefined;
    i = (tried.pop() ?? 0) + 1;
    at = last.from;
  }
}

function walk(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? path.join(rel, e.name) : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}
