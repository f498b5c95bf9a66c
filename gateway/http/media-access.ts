/**
 * Who may fetch a stream's files (/vod/<id>/..., /live/<id>/...: playlists, segments, posters):
 * the same entitlement rule as the key server (actors/streams/visibility.ts). A deleted stream,
 * a failed or unfinished asset and an ended show are not served. Public and unlisted files are
 * open (their keys still need a token); a private stream's files need a signed playback URL
 * (`pt`, minted after the license check) or the token of someone who may watch it.
 * What the catalog says of a stream is kept a few seconds: a segment request costs no RPC.
 */
import { AppError, toErrorBody } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";
import { canWatch, type Watchable } from "../../actors/streams/visibility.js";
import type { RequestHead } from "./exchange.js";
import { TtlCache } from "../../lib/ttl-cache.js";

export interface StreamView extends Watchable {
  kind: "live" | "vod";
  status: string;
}

export interface MediaAccessDeps {
  /** The catalog entry as the platform sees it; undefined when there is none. */
  lookup(id: string): Promise<StreamView | undefined>;
  verifyPlayback(id: string, pt: string): Promise<boolean>;
  verifyToken(token: string): Promise<Principal>;
}

const TTL_MS = 2000;
const MAX_ENTRIES = 10_000;

export class MediaAccess {
  readonly #deps: MediaAccessDeps;
  readonly #cache = new TtlCache<StreamView | undefined>(TTL_MS, MAX_ENTRIES);

  constructor(deps: MediaAccessDeps) {
    this.#deps = deps;
  }

  /** Throws NOT_FOUND, UNAUTHENTICATED or FORBIDDEN unless this request may have the file;
   *  answers whether the file is private (then no shared cache may keep it). */
  async check(kind: "vod" | "live", id: string, head: Pick<RequestHead, "query" | "authorization">): Promise<{ private: boolean }> {
    const s = await this.#stream(id);
    const servable = s && s.kind === kind && (kind === "vod" ? s.status === "ready" : s.status === "live");
    if (!s || !servable) throw new AppError("NOT_FOUND", "No such file");
    if ((s.visibility ?? "public") !== "private") return { private: false };
    const pt = head.query.get("pt");
    if (pt !== null && (await this.#deps.verifyPlayback(id, pt))) return { private: true };
    if (/^bearer /i.test(head.authorization)) {
      const principal = await this.#deps.verifyToken(head.authorization.slice(7).trim());
      if (canWatch(s, { kind: "user", principal })) return { private: true };
      throw new AppError("FORBIDDEN", "No playback rights for this stream");
    }
    throw new AppError(pt === null ? "UNAUTHENTICATED" : "FORBIDDEN", pt === null ? "A private stream: a signed playback URL (?pt=) or Authorization: Bearer <token> is required" : "The playback URL is invalid or expired");
  }

  /** NOT_FOUND unless this user may watch the stream (its room is part of it): asked before a
   *  socket is subscribed to a room, from the same short-lived view of the catalog. */
  async watchable(id: string, principal: Principal): Promise<void> {
    // The rooms actor decides on its own record; this early look only keeps a refused joiner's
    // socket from hearing the room meanwhile. With the catalog unreachable (a node lost), rooms
    // stay available: the actor's answer stands alone.
    const s = await this.#stream(id).catch((err: unknown) => {
      const code = toErrorBody(err).code;
      if (code === "UNAVAILABLE" || code === "TIMEOUT") return "unknown" as const;
      throw err;
    });
    if (s === "unknown") return;
    if (!s || !canWatch(s, { kind: "user", principal })) throw new AppError("NOT_FOUND", "No such room");
  }

  /** A stream changed (deleted, made private): the next request asks the catalog again, and
   *  a lookup already on its way (begun before the change) is neither shared nor kept. */
  forget(id: string): void {
    this.#cache.forget(id);
  }

  /** The catalog's view of a stream, kept TTL_MS; one lookup per stream at a time (a reconnect
   *  storm's thousands of joins, or a segment's thousands of viewers, share it). */
  #stream(id: string): Promise<StreamView | undefined> {
    return this.#cache.get(id, () => this.#deps.lookup(id));
  }
}
