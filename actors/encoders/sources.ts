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
import { retrying, type BlobStore } from "../../blobs/index.js";
import { AppError } from "../../lib/errors.js";

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
   * the last ended (a part the offset never moved past is ignored), up to `length` when known.
   * Reused when already joined here with that length. BAD_REQUEST when the chain has a hole.
   */
  async join(streamId: string, length?: number, signal?: AbortSignal): Promise<string> {
    const file = this.sourceFile(streamId);
    if (length !== undefined && existsSync(file) && statSync(file).size === length) return file;
    mkdirSync(this.#dir, { recursive: true });
    const parts = new Map((await retrying(() => this.#blobs.list(`uploads/${streamId}/`), this.#retryMs, signal)).map((p) => [Number(p.key.split("/").pop()), p]));
    const tmp = `${file}.part`;
    const out = createWriteStream(tmp);
    let at = 0;
    try {
      for (let p = parts.get(0); p && (length === undefined || at < length); p = parts.get(at)) {
        const key = p.key;
        const blob = await retrying(() => this.#blobs.get(key), this.#retryMs, signal);
        if (!blob) break;
        if (!out.write(blob.body)) await new Promise<void>((r) => out.once("drain", () => r()));
        at += blob.body.length;
        if (signal?.aborted) throw new AppError("UNAVAILABLE", "stopped");
      }
      out.end();
      await finished(out);
      if (at === 0 || (length !== undefined && at !== length)) throw new AppError("BAD_REQUEST", `The upload's bytes are incomplete in the store (${String(at)} of ${String(length ?? "?")})`);
      await rename(tmp, file);
      return file;
    } catch (err) {
      out.destroy();
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** Writes an encoded ladder (every file below `dir`) to vod/<stream>/, replacing an earlier attempt's. */
  async publish(streamId: string, dir: string, signal?: AbortSignal): Promise<number> {
    await retrying(() => this.#blobs.deletePrefix(`vod/${streamId}/`), this.#retryMs, signal);
    const files = walk(dir);
    // Playlists last: a player never finds a playlist naming a segment not yet written.
    files.sort((a, b) => Number(a.endsWith(".m3u8")) - Number(b.endsWith(".m3u8")));
    for (const rel of files) {
      const key = `vod/${streamId}/${rel.split(path.sep).join("/")}`;
      await retrying(() => this.#blobs.putFile(key, path.join(dir, rel)), this.#retryMs, signal);
    }
    return files.length;
  }

  /** Drops a job's scratch files (its output directory and, when done with, the source). */
  clean(jobId: string, streamId?: string): void {
    rmSync(path.join(this.#dir, `enc-${jobId}`), { recursive: true, force: true });
    if (streamId) rmSync(this.sourceFile(streamId), { force: true });
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
