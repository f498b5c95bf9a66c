/**
 * Blobs in a local directory: the key is the path below the root. Writes go to a temporary
 * file beside the target, then are renamed into place (atomic on one filesystem). A failing
 * disk (full, read-only, a key whose folder is a file) is UNAVAILABLE, as for any backend. ETag: size,
 * modification time and inode (each write is a new file).
 */
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { copyFile, mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { checkKey, checkPrefix, unavailable, type Blob, type BlobInfo, type BlobStore } from "./blobs.js";

export class DirBlobs implements BlobStore {
  readonly kind = "dir";
  readonly #root: string;

  constructor(root: string) {
    this.#root = path.resolve(root);
  }

  async put(key: string, data: Uint8Array): Promise<BlobInfo> {
    return this.#replace(key, (tmp) => writeFile(tmp, data));
  }

  async putFile(key: string, file: string): Promise<BlobInfo> {
    return this.#replace(key, (tmp) => copyFile(file, tmp));
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    const st = await stat(this.#path(key)).catch(() => undefined);
    return st?.isFile() ? info(key, st) : undefined;
  }

  async get(key: string, range?: readonly [number, number]): Promise<Blob | undefined> {
    const file = this.#path(key);
    let fh;
    try {
      fh = await open(file, "r");
    } catch {
      return undefined;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) return undefined;
      const [start, end] = range ?? [0, st.size - 1];
      const body = Buffer.alloc(Math.max(0, Math.min(end, st.size - 1) - start + 1));
      if (body.length > 0) await fh.read(body, 0, body.length, start);
      return { info: info(key, st), body };
    } finally {
      await fh.close();
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    const dir = this.#path(checkPrefix(prefix).slice(0, -1));
    const out: BlobInfo[] = [];
    const walk = async (d: string, keyPrefix: string): Promise<void> => {
      const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.name.endsWith(".tmp")) continue; // a write in progress
        const key = `${keyPrefix}${e.name}`;
        if (e.isDirectory()) await walk(path.join(d, e.name), `${key}/`);
        else if (e.isFile()) {
          const st = await stat(path.join(d, e.name)).catch(() => undefined);
          if (st) out.push(info(key, st));
        }
      }
    };
    await walk(dir, prefix);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await unlink(this.#path(key)).catch(() => undefined);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const n = (await this.list(prefix)).length;
    await rm(this.#path(prefix.slice(0, -1)), { recursive: true, force: true }).catch((err: unknown) => {
      throw unavailable("delete", err);
    });
    return n;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async #replace(key: string, write: (tmp: string) => Promise<void>): Promise<BlobInfo> {
    const file = this.#path(key);
    const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await write(tmp);
      await rename(tmp, file);
      return info(key, await stat(file));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      // A full or failing disk is the store being unavailable, not the caller's mistake.
      throw unavailable("write", err);
    }
  }

  #path(key: string): string {
    return path.join(this.#root, ...checkKey(key).split("/"));
  }
}

function info(key: string, st: Stats): BlobInfo {
  return { key, size: st.size, etag: `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}-${st.ino.toString(36)}"`, modified: st.mtimeMs };
}
