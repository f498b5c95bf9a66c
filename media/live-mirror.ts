/**
 * Live HLS into the blob store: ffmpeg writes a stream's ladder in the media node's scratch
 * directory (live-hls.ts); this copies it to `live/<stream>/` for every gateway and edge to
 * serve. Every TICK_MS it reads each rendition's playlist; segments it names are read into
 * memory at once (ffmpeg deletes old ones), written to the store, and only then the playlist —
 * rewritten to name them `<session>_seg_N.ts`, so a segment's key is never reused by a later
 * session and caches may keep it forever. The master playlist goes last, once every rendition
 * playlist is there.
 *
 * The store away: segments wait in memory (at most `bufferSegments` per rendition, the oldest
 * dropped first, with a log line) and are written in order once it answers again, then the
 * newest playlist; players meanwhile keep the last playlist they had. Segments that left the
 * window are deleted from the store a little later (players may still be fetching them).
 *
 * Owner of: its timer and the objects its session wrote. close() stops it (a restart) and
 * deletes its segments a little later; finish() (the show ended) writes what is pending first,
 * then deletes everything it wrote a little later.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { BlobStore } from "../blobs/index.js";
import { LIVE_CARD } from "../protocol/media.js";

export const TICK_MS = 200;
/** Segments kept in the store beyond a playlist's window. */
const KEEP_BEHIND = 4;
/** A stopped session's objects are deleted this long after (players finish what they fetch). */
export const CLEAN_AFTER_MS = 30_000;
const SEGMENT = /^seg_\d{1,9}\.ts$/;

interface Rendition {
  /** Segments read from disk, waiting to be written (in order). */
  pending: { name: string; body: Buffer }[];
  /** Segment names captured (read from disk), newest last. */
  captured: string[];
  /** Segment names written to the store, in order. */
  written: string[];
  /** The newest playlist as ffmpeg wrote it, and whether the store has it. */
  playlist: string;
  playlistWritten: boolean;
}

export interface LiveMirrorOptions {
  blobs: BlobStore;
  /** ffmpeg's output directory: master.m3u8 and one directory per rendition. */
  dir: string;
  streamId: string;
  /** Names this packaging session's segments (a restart is a new session). */
  session: string;
  bufferSegments: number;
  log: (level: "info" | "warn", msg: string) => void;
}

export class LiveMirror {
  readonly #o: LiveMirrorOptions;
  readonly #renditions = new Map<string, Rendition>();
  readonly #timer: NodeJS.Timeout;
  #masterWritten = false;
  #cardMtime = 0;
  #running: Promise<void> | undefined;
  #closed = false;
  /** The store refused the last write: said once per outage. */
  #away = false;
  readonly stats = { segmentsWritten: 0, segmentsDropped: 0, lastWriteMs: 0 };

  constructor(o: LiveMirrorOptions) {
    this.#o = o;
    this.#timer = setInterval(() => void this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** The key of a rendition's object. */
  key(rendition: string, name: string): string {
    return `live/${this.#o.streamId}/${rendition}/${name}`;
  }

  /** Stops (a restart: the next session writes the same playlists). Its segments are deleted
   *  a little later, when no player can still be reading them. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#cleanLater(false);
  }

  /** Copies what ffmpeg wrote last, then stops; the show is over, so a little later everything
   *  this session wrote is deleted, playlists included. */
  async finish(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    if (this.#closed) return;
    this.#closed = true;
    await this.#round().catch(() => undefined);
    this.#cleanLater(true);
  }

  #cleanLater(playlists: boolean): void {
    const keys = [...this.#renditions].flatMap(([name, r]) => [...r.written.map((seg) => this.key(name, `${this.#o.session}_${seg}`)), ...(playlists ? [this.key(name, "index.m3u8")] : [])]);
    if (playlists) keys.push(`live/${this.#o.streamId}/master.m3u8`, `live/${this.#o.streamId}/${LIVE_CARD}`);
    setTimeout(() => {
      void (async () => {
        for (const k of keys) await this.#o.blobs.delete(k).catch(() => undefined);
      })();
    }, CLEAN_AFTER_MS).unref();
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#closed) return;
    this.#running = this.#round().catch((err: unknown) => {
      if (!this.#away) this.#o.log("warn", `live HLS of ${this.#o.streamId}: the blob store is away (${err instanceof Error ? err.message : String(err)}): keeping segments in memory`);
      this.#away = true;
    }).finally(() => (this.#running = undefined));
    await this.#running;
  }

  async #round(): Promise<void> {
    this.#capture();
    for (const [name, r] of this.#renditions) await this.#flush(name, r);
    await this.#card();
    if (this.#away) this.#o.log("info", `live HLS of ${this.#o.streamId}: the blob store is back; caught up`);
    this.#away = false;
    if (!this.#masterWritten && this.#renditions.size > 0 && [...this.#renditions.values()].every((r) => r.playlistWritten)) {
      const master = readIfThere(path.join(this.#o.dir, "master.m3u8"));
      if (master) {
        await this.#o.blobs.put(`live/${this.#o.streamId}/master.m3u8`, master);
        this.#masterWritten = true;
      }
    }
  }

  /** The live card image, when ffmpeg renewed it (home page cards show it). */
  async #card(): Promise<void> {
    let mtime: number;
    try {
      mtime = statSync(path.join(this.#o.dir, LIVE_CARD)).mtimeMs;
    } catch {
      return; // not yet
    }
    if (mtime === this.#cardMtime) return;
    const body = readIfThere(path.join(this.#o.dir, LIVE_CARD));
    if (!body || body.length === 0) return; // being rewritten: next round
    await this.#o.blobs.put(`live/${this.#o.streamId}/${LIVE_CARD}`, body);
    this.#cardMtime = mtime;
  }

  /** Reads new playlists, and the new segments they name, from ffmpeg's directory. */
  #capture(): void {
    let dirs: string[];
    try {
      dirs = readdirSync(this.#o.dir, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith(".")).map((d) => d.name);
    } catch {
      return; // not there yet
    }
    for (const name of dirs) {
      const text = readIfThere(path.join(this.#o.dir, name, "index.m3u8"))?.toString("utf8");
      let r = this.#renditions.get(name);
      if (!text || text === r?.playlist) continue;
      r ??= { pending: [], captured: [], written: [], playlist: "", playlistWritten: false };
      this.#renditions.set(name, r);
      const segments = text.split("\n").map((l) => l.trim()).filter((l) => SEGMENT.test(l));
      for (const seg of segments) {
        if (r.captured.includes(seg)) continue;
        const body = readIfThere(path.join(this.#o.dir, name, seg));
        if (!body) continue; // already deleted by ffmpeg: missed (the playlist still names it)
        r.pending.push({ name: seg, body });
        r.captured.push(seg);
      }
      if (r.captured.length > 200) r.captured.splice(0, r.captured.length - 200);
      while (r.pending.length > this.#o.bufferSegments) {
        const lost = r.pending.shift();
        this.stats.segmentsDropped++;
        this.#o.log("warn", `live HLS of ${this.#o.streamId}: ${name}/${lost?.name ?? "?"} dropped: more than ${String(this.#o.bufferSegments)} segments wait for the blob store`);
      }
      r.playlist = text;
      r.playlistWritten = false;
    }
  }

  async #flush(name: string, r: Rendition): Promise<void> {
    const { blobs, session } = this.#o;
    while (r.pending.length > 0) {
      const seg = r.pending[0];
      if (!seg) break;
      const started = Date.now();
      await blobs.put(this.key(name, `${session}_${seg.name}`), seg.body);
      this.stats.lastWriteMs = Date.now() - started;
      this.stats.segmentsWritten++;
      r.pending.shift();
      r.written.push(seg.name);
    }
    if (r.playlistWritten) return;
    // Only segments the store has are named (a dropped one leaves the window early).
    const lines = r.playlist.split("\n");
    const out: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? "";
      if (SEGMENT.test(line.trim())) {
        if (r.written.includes(line.trim())) out.push(`${session}_${line.trim()}`);
        else if (out.at(-1)?.startsWith("#EXTINF")) out.pop();
        continue;
      }
      out.push(line);
    }
    await blobs.put(this.key(name, "index.m3u8"), Buffer.from(out.join("\n")));
    r.playlistWritten = true;
    const window = lines.filter((l) => SEGMENT.test(l.trim())).length;
    while (r.written.length > window + KEEP_BEHIND) {
      const old = r.written.shift();
      if (old) await blobs.delete(this.key(name, `${session}_${old}`)).catch(() => undefined);
    }
  }
}

function readIfThere(file: string): Buffer | undefined {
  try {
    if (!statSync(file).isFile()) return undefined;
    return readFileSync(file);
  } catch {
    return undefined;
  }
}
