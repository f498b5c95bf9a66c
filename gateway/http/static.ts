/**
 * Serves the built web app (web/app/dist, at /app/). Only files below that folder, never hidden files; the
 * path was already decoded and checked segment by segment (router.decodePath), and the
 * resolved file must still lie inside the root (symlinks included).
 */
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { decodePath } from "./router.js";

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

export class StaticFiles {
  readonly #root: string;
  #realRoot: string | undefined;

  constructor(root: string) {
    this.#root = path.resolve(root);
  }

  /** The file for a raw URL path, or undefined (404) for anything else. */
  async get(rawPath: string): Promise<StaticFile | undefined> {
    const segments = decodePath(rawPath);
    if (!segments || segments.some((s) => s.startsWith("."))) return undefined;
    const rel = segments.join("/") || "index.html";
    const type = MIME[path.extname(rel)];
    if (!type) return undefined;
    this.#realRoot ??= await realpath(this.#root).catch(() => this.#root);
    try {
      const file = await realpath(path.join(this.#root, rel));
      if (!file.startsWith(this.#realRoot + path.sep)) return undefined;
      if (!(await stat(file)).isFile()) return undefined;
      return { body: await readFile(file), type };
    } catch {
      return undefined;
    }
  }
}
