/**
 * Browser modules that import npm packages (mediasoup-client), bundled by esbuild on first
 * request and kept in memory: no build step before `npm start`, and the bundle always matches
 * the installed packages. Only the entries listed here are served, at /bundles/<name>.
 */
import path from "node:path";
import { build } from "esbuild";

const ENTRIES: Record<string, string> = {
  "live-media.js": "src/live-media.js",
  "player.js": "src/player.js",
  "telemetry.js": "src/telemetry.js",
  "charts.js": "src/charts.js",
  "charts.css": "src/charts.css",
};

export class Bundles {
  readonly #webRoot: string;
  readonly #built = new Map<string, Promise<Buffer>>();

  constructor(webRoot: string) {
    this.#webRoot = webRoot;
  }

  /** The bundle for /bundles/<name>, or undefined when there is no such entry. */
  get(name: string): Promise<Buffer> | undefined {
    const entry = Object.hasOwn(ENTRIES, name) ? ENTRIES[name] : undefined;
    if (entry === undefined) return undefined;
    let p = this.#built.get(name);
    if (!p) {
      p = this.#build(path.join(this.#webRoot, entry));
      this.#built.set(name, p);
      p.catch(() => this.#built.delete(name)); // a failed build is retried on the next request
    }
    return p;
  }

  async #build(entry: string): Promise<Buffer> {
    const out = await build({ entryPoints: [entry], bundle: true, format: "esm", target: "es2022", minify: true, write: false, logLevel: "silent", legalComments: "none" });
    const file = out.outputFiles[0];
    if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
    return Buffer.from(file.contents);
  }
}
