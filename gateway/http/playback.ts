/**
 * Short-lived signed playback URLs, for players that cannot send an Authorization header
 * with their key requests (native HLS in Safari/iOS, TVs) and for links handed to CDNs.
 * `GET /api/playback/:id` (any valid token, after the license check) answers a master
 * playlist URL carrying `pt=<exp>.<hmac>`; playlists fetched with it are rewritten so their
 * variant and key URLs carry it too, and the key endpoint accepts it instead of a token.
 * The HMAC secret is shared by every gateway (sessions.playbackSecret).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export class PlaybackSigner {
  readonly #secret: () => Promise<string>;
  readonly #ttlSec: number;

  constructor(secret: () => Promise<string>, ttlSec: number) {
    this.#secret = secret;
    this.#ttlSec = ttlSec;
  }

  async sign(assetId: string, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
    const exp = Math.floor(now / 1000) + this.#ttlSec;
    return { token: `${exp}.${this.#mac(await this.#secret(), assetId, exp)}`, expiresAt: exp * 1000 };
  }

  /** Whether `token` was signed for this asset and has not expired. */
  async verify(assetId: string, token: string, now = Date.now()): Promise<boolean> {
    const [expText, mac] = token.split(".");
    const exp = Number(expText);
    if (!mac || !Number.isSafeInteger(exp) || exp * 1000 < now) return false;
    const want = Buffer.from(this.#mac(await this.#secret(), assetId, exp));
    const got = Buffer.from(mac);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  #mac(secret: string, assetId: string, exp: number): string {
    return createHmac("sha256", Buffer.from(secret, "base64")).update(`${assetId}.${exp}`).digest("base64url");
  }
}

/** Adds `pt` to every URI of a playlist: variants, segments, keys, init sections and renditions
 *  (a private asset's segments are served only with it, or with a token). */
export function signPlaylist(text: string, token: string): string {
  const q = `pt=${encodeURIComponent(token)}`;
  const add = (uri: string) => `${uri}${uri.includes("?") ? "&" : "?"}${q}`;
  return text
    .split("\n")
    .map((line) => {
      if (line.startsWith("#")) return line.replace(/URI="([^"]+)"/, (_m, uri: string) => `URI="${add(uri)}"`);
      return line.trim() === "" ? line : add(line);
    })
    .join("\n");
}
