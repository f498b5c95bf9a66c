/**
 * The set of revoked session ids a node honours, each until the last access token of that
 * session would have expired anyway. Filled from `sessions.revocations` at start and on a
 * timer, and from `sessions.revoked` events as they happen.
 */
export interface Revocation {
  sid: string;
  /** ms since the epoch; after this no token of the session can still be valid. */
  until: number;
}

export class RevocationList {
  readonly #until = new Map<string, number>();

  add(list: readonly Revocation[]): void {
    for (const r of list) this.#until.set(r.sid, Math.max(r.until, this.#until.get(r.sid) ?? 0));
  }

  isRevoked(sid: string): boolean {
    const until = this.#until.get(sid);
    return until !== undefined && until > Date.now();
  }

  sweep(now = Date.now()): void {
    for (const [sid, until] of this.#until) if (until <= now) this.#until.delete(sid);
  }

  get size(): number {
    return this.#until.size;
  }
}
