/**
 * Users and their login sessions (the refresh-token side). A refresh token is
 * `<userId>.<sid>.<secret>`; the store keeps only a hash of the current secret and of the few
 * before it. Presenting an old secret means the token was copied: the whole session is revoked.
 *
 * Except within the reuse grace (`auth.refreshReuseGraceSec`, as identity providers grant): a
 * secret superseded moments ago is still honoured, and rotates again. An honest client presents
 * one twice when the answer to its refresh was lost (a tab reloaded mid-refresh, a network cut)
 * or when its tabs, sharing one stored token, refresh together (one tab's storage can lag
 * another's). A thief's copy used inside the grace branches the session; the owner's next
 * refresh, outside it, is then a reuse and ends both.
 *
 * Any other secret presented for a live session ends it too, not only one still in the short
 * history: a thief who refreshed often enough to push the owner's secret out of the history must
 * not turn the owner's next refresh into a mere "invalid" while the stolen branch lives on.
 * Whoever presents a wrong secret has seen the session's ids in one of its tokens, so its secrets
 * are out. The judgement is made on a read proven current (a replica may lag the last rotation).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { AppError, hasCode } from "../../lib/errors.js";
import type { Role } from "../../lib/identity.js";
import type { Entry, Store } from "../../store/index.js";
import { isId } from "../../protocol/ids.js";

export interface User {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  createdAt: number;
}

export type PublicUser = Omit<User, "passwordHash">;

export interface LoginSession {
  userId: string;
  sid: string;
  secretHash: string;
  previousHashes: string[];
  /** Secrets superseded within the reuse grace, honoured until `until` (ms). */
  graceHashes?: { hash: string; until: number }[];
  createdAt: number;
  expiresAt: number;
}

const USERS = "users";
const USERNAMES = "usernames";
const SESSIONS = "login_sessions";
const PREVIOUS_KEPT = 8;
/** A refresh that keeps losing its compare-and-set (many at once) gives up after this many reads. */
const CAS_TRIES = 5;

export const newId = (): string => randomBytes(12).toString("base64url");
const hashSecret = (s: string): string => createHash("sha256").update(s).digest("base64url");

export function publicUser(u: User): PublicUser {
  return { id: u.id, username: u.username, displayName: u.displayName, role: u.role, createdAt: u.createdAt };
}

export class Accounts {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Creates a user; the username index entry is created first, so two racing registrations of
   *  one name cannot both succeed. */
  async createUser(user: User): Promise<void> {
    await this.#store.put(USERNAMES, user.username, { userId: user.id }, { expect: 0 }).catch((err: unknown) => {
      throw hasCode(err, "CONFLICT") ? new AppError("CONFLICT", "Username taken") : err;
    });
    await this.#store.put(USERS, user.id, user, { expect: 0 });
  }

  async byUsername(username: string): Promise<User | undefined> {
    const idx = await this.#store.get<{ userId: string }>(USERNAMES, username);
    return idx ? this.byId(idx.value.userId) : undefined;
  }

  async byId(id: string): Promise<User | undefined> {
    return (await this.#store.get<User>(USERS, id))?.value;
  }

  async entry(id: string): Promise<Entry<User> | undefined> {
    return this.#store.get<User>(USERS, id);
  }

  async updateUser(user: User, revision: number): Promise<void> {
    await this.#store.put(USERS, user.id, user, { expect: revision });
  }

  async listUsers(): Promise<PublicUser[]> {
    return (await this.#store.list<User>(USERS)).map((e) => publicUser(e.value));
  }

  /** Starts a login session and returns its first refresh token. */
  async openSession(userId: string, ttlSec: number): Promise<{ sid: string; refreshToken: string; expiresAt: number }> {
    const sid = newId();
    const secret = randomBytes(32).toString("base64url");
    const now = Date.now();
    const s: LoginSession = { userId, sid, secretHash: hashSecret(secret), previousHashes: [], createdAt: now, expiresAt: now + ttlSec * 1000 };
    await this.#store.put(SESSIONS, `${userId}.${sid}`, s, { expect: 0 });
    return { sid, refreshToken: `${userId}.${sid}.${secret}`, expiresAt: s.expiresAt };
  }

  /**
   * Swaps a refresh token for the next one. A secret that is neither the current one nor within
   * the grace ends the session: the returned `reused` tells the caller to revoke and broadcast
   * (`known`: it was one of the session's earlier secrets, not a guess). Concurrent refreshes with
   * one token each get a new one (the CAS loser reads the session again, where the token is now
   * within the grace); with no grace, the loser gets CONFLICT.
   */
  async rotate(refreshToken: string, ttlSec: number, graceMs: number): Promise<{ session: LoginSession; refreshToken: string } | { reused: LoginSession; known: boolean }> {
    const [userId, sid, secret, extra] = refreshToken.split(".");
    if (!userId || !sid || !secret || extra !== undefined || !isId(userId) || !isId(sid)) {
      throw new AppError("UNAUTHENTICATED", "Malformed refresh token");
    }
    const key = `${userId}.${sid}`;
    const presented = hashSecret(secret);
    for (let attempt = 0; ; attempt++) {
      const e = await this.#store.get<LoginSession>(SESSIONS, key);
      const now = Date.now();
      if (!e || e.value.expiresAt < now) throw new AppError("TOKEN_REVOKED", "Session ended: log in again");
      const grace = (e.value.graceHashes ?? []).filter((g) => g.until > now);
      if (!sameHash(presented, e.value.secretHash) && !grace.some((g) => sameHash(presented, g.hash))) {
        if (!(await this.#current(key, e))) {
          if (attempt >= CAS_TRIES - 1) throw new AppError("UNAVAILABLE", "The session store did not settle: retry");
          await new Promise((r) => setTimeout(r, 20 * (attempt + 1))); // a lagging replica catches up
          continue;
        }
        await this.#store.delete(SESSIONS, key);
        return { reused: e.value, known: e.value.previousHashes.some((h) => sameHash(presented, h)) };
      }
      const next = randomBytes(32).toString("base64url");
      const session: LoginSession = {
        ...e.value,
        secretHash: hashSecret(next),
        previousHashes: [e.value.secretHash, ...e.value.previousHashes].slice(0, PREVIOUS_KEPT),
        graceHashes: graceMs > 0 ? [{ hash: e.value.secretHash, until: now + graceMs }, ...grace].slice(0, PREVIOUS_KEPT) : [],
        expiresAt: now + ttlSec * 1000,
      };
      try {
        await this.#store.put(SESSIONS, key, session, { expect: e.revision });
        return { session, refreshToken: `${userId}.${sid}.${next}` };
      } catch (err) {
        if (!hasCode(err, "CONFLICT")) throw err;
        // Another refresh of this session won: within the grace this one may still succeed.
        if (graceMs <= 0 || attempt >= CAS_TRIES - 1) throw new AppError("CONFLICT", "Refresh token already used");
      }
    }
  }

  /** Whether this read of a session is its latest: rewriting it unchanged on its revision
   *  succeeds only then (a compare-and-set is decided where the writes are ordered). */
  async #current(key: string, e: Entry<LoginSession>): Promise<boolean> {
    return this.#store.put(SESSIONS, key, e.value, { expect: e.revision }).then(
      () => true,
      (err: unknown) => {
        if (hasCode(err, "CONFLICT")) return false;
        throw err;
      },
    );
  }

  /** Ends a session if it exists; returns whether it did. */
  async closeSession(userId: string, sid: string): Promise<boolean> {
    const key = `${userId}.${sid}`;
    const existed = (await this.#store.get(SESSIONS, key)) !== undefined;
    await this.#store.delete(SESSIONS, key);
    return existed;
  }

  async sessionsOf(userId: string): Promise<LoginSession[]> {
    return (await this.#store.list<LoginSession>(SESSIONS, `${userId}.`)).map((e) => e.value);
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
