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
 * Every secret this session ever issued is recognisable, not only those in the short history:
 * a secret is a nonce and its MAC under the session's own key (`macKey`, kept with the session).
 * A thief who refreshed often enough to push the owner's secret out of the history cannot turn
 * the owner's next refresh into a mere "invalid" while the stolen branch lives on: an earlier
 * secret of the session, however old, ends it. A secret the session never issued (someone who
 * read the ids in a JWT and made one up) is only UNAUTHENTICATED: it ends nothing and writes
 * nothing. The judgement is made on a read proven current (a replica may lag the last rotation).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
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
  /** The key of the MAC every secret of this session carries (sessions opened before it: none). */
  macKey?: string;
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
    const macKey = randomBytes(32).toString("base64url");
    const secret = issueSecret(macKey);
    const now = Date.now();
    const s: LoginSession = { userId, sid, secretHash: hashSecret(secret), previousHashes: [], macKey, createdAt: now, expiresAt: now + ttlSec * 1000 };
    await this.#store.put(SESSIONS, `${userId}.${sid}`, s, { expect: 0 });
    return { sid, refreshToken: `${userId}.${sid}.${secret}`, expiresAt: s.expiresAt };
  }

  /**
   * Swaps a refresh token for the next one. An earlier secret of the session, outside the grace,
   * ends it: the returned `reused` tells the caller to revoke and broadcast. A secret the session
   * never issued is UNAUTHENTICATED and changes nothing. Concurrent refreshes with
   * one token each get a new one (the CAS loser reads the session again, where the token is now
   * within the grace); with no grace, the loser gets CONFLICT.
   */
  async rotate(refreshToken: string, ttlSec: number, graceMs: number): Promise<{ session: LoginSession; refreshToken: string } | { reused: LoginSession }> {
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
        const known = e.value.previousHashes.some((h) => sameHash(presented, h));
        if (!known && !issuedBy(e.value.macKey, secret)) throw new AppError("UNAUTHENTICATED", "Invalid refresh token");
        if (!(await this.#current(key, e))) {
          if (attempt >= CAS_TRIES - 1) throw new AppError("UNAVAILABLE", "The session store did not settle: retry");
          await new Promise((r) => setTimeout(r, 20 * (attempt + 1))); // a lagging replica catches up
          continue;
        }
        await this.#store.delete(SESSIONS, key);
        return { reused: e.value };
      }
      const next = e.value.macKey ? issueSecret(e.value.macKey) : randomBytes(32).toString("base64url");
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

const NONCE_BYTES = 16;
const TAG_BYTES = 16;

/** A new secret: a random nonce and its MAC under the session's key (32 bytes, base64url). */
function issueSecret(macKey: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  return Buffer.concat([nonce, tag(macKey, nonce)]).toString("base64url");
}

/** Whether the session (its MAC key) issued this secret at some point. */
function issuedBy(macKey: string | undefined, secret: string): boolean {
  if (!macKey) return false;
  const raw = Buffer.from(secret, "base64url");
  if (raw.length !== NONCE_BYTES + TAG_BYTES) return false;
  return timingSafeEqual(raw.subarray(NONCE_BYTES), tag(macKey, raw.subarray(0, NONCE_BYTES)));
}

const tag = (macKey: string, nonce: Buffer): Buffer => createHmac("sha256", Buffer.from(macKey, "base64url")).update(nonce).digest().subarray(0, TAG_BYTES);

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
