/** What the sessions actor does, apart from how it is called (sessions.service.ts). */
import { SecurityLog } from "../../lib/logging.js";
import type { LoggerInstance, ServiceBroker } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError, hasCode } from "../../lib/errors.js";
import type { Caller, Principal, Role } from "../../lib/identity.js";
import type { Revocation } from "../../lib/revocations.js";
import { signAccessToken } from "../../lib/tokens.js";
import type { Store } from "../../store/index.js";
import { Accounts, newId, publicUser, type LoginSession, type PublicUser, type User } from "./accounts.js";
import { Keyring } from "./keyring.js";
import { decoyHash, hashPassword, verifyPassword } from "./passwords.js";
import { isId } from "../../protocol/ids.js";

const REVOKED = "revoked_sessions";

export interface TokenPair {
  accessToken: string;
  /** Seconds since the epoch. */
  accessExpiresAt: number;
  refreshToken?: string;
  user: PublicUser | { id: string; displayName: string; role: Role; guest: true };
}

export class SessionsLogic {
  readonly keyring: Keyring;
  readonly #accounts: Accounts;
  readonly #cfg: AppConfig;
  readonly #store: Store;
  readonly #broker: ServiceBroker;
  readonly #sec: SecurityLog;
  readonly #log: LoggerInstance;
  #decoy = "";
  #timer: NodeJS.Timeout | undefined;

  constructor(cfg: AppConfig, store: Store, broker: ServiceBroker) {
    this.#cfg = cfg;
    this.#store = store;
    this.#broker = broker;
    this.#log = broker.getLogger("sessions");
    this.#sec = SecurityLog.of(broker);
    this.#accounts = new Accounts(store);
    this.keyring = new Keyring(store, cfg.auth.keyGraceSec);
  }

  async start(): Promise<void> {
    this.#decoy = await decoyHash(this.#cfg.auth.scryptCost);
    await this.keyring.active();
    await this.#ensureAdmin();
    this.#timer = setInterval(() => void this.#housekeeping(), 60_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async register(p: { username: string; password: string; displayName?: string; role?: "viewer" | "creator" }): Promise<TokenPair> {
    if (p.role === "creator" && !this.#cfg.auth.openCreatorSignup) {
      this.#sec.event("permission.denied", { username: p.username.slice(0, 32), action: "register as creator", reason: "creator sign-up is closed" });
      throw new AppError("FORBIDDEN", "Creator accounts are granted by an admin: register as a viewer and ask for creator rights");
    }
    const user: User = {
      id: newId(),
      username: p.username.toLowerCase(),
      displayName: p.displayName ?? p.username,
      role: p.role ?? "viewer",
      passwordHash: await hashPassword(p.password, this.#cfg.auth.scryptCost),
      createdAt: Date.now(),
    };
    await this.#accounts.createUser(user);
    this.#log.info(`registered ${user.username} (${user.role})`);
    return this.#issue(user);
  }

  async login(username: string, password: string): Promise<TokenPair> {
    const user = await this.#accounts.byUsername(username.toLowerCase());
    const ok = await verifyPassword(password, user?.passwordHash ?? this.#decoy);
    if (!user || !ok) {
      // The sessions actor writes the security log line (login.failed, with the caller's IP).
      throw new AppError("BAD_CREDENTIALS", "Unknown user or wrong password");
    }
    return this.#issue(user);
  }

  async guest(): Promise<TokenPair> {
    const id = `guest-${newId()}`;
    const name = `guest-${id.slice(6, 12)}`;
    const key = await this.keyring.active();
    const p = { userId: id, name, role: "viewer" as const, guest: true, sid: `g${newId()}` };
    const { token, exp } = await signAccessToken(p, this.#cfg.auth.guestTtlSec, key.kid, key.privateJwk);
    return { accessToken: token, accessExpiresAt: exp, user: { id, displayName: name, role: "viewer", guest: true } };
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const r = await this.#accounts.rotate(refreshToken, this.#cfg.auth.refreshTtlSec, this.#cfg.auth.refreshReuseGraceSec * 1000);
    if ("reused" in r) {
      this.#reused(r.reused);
      await this.#revoke([r.reused.sid]);
      throw new AppError("TOKEN_REVOKED", "Refresh token reused: the session was revoked");
    }
    const user = await this.#accounts.byId(r.session.userId);
    if (!user) throw new AppError("TOKEN_REVOKED", "Account no longer exists");
    return { ...(await this.#access(user, r.session.sid)), refreshToken: r.refreshToken };
  }

  async logout(caller: Caller | undefined, refreshToken?: string): Promise<{ revoked: number }> {
    const sids: string[] = [];
    if (caller?.kind === "user") {
      const p = caller.principal;
      if (!p.guest) await this.#accounts.closeSession(p.userId, p.sid);
      sids.push(p.sid);
    }
    const [userId, sid] = refreshToken?.split(".") ?? [];
    if (userId && sid && isId(userId) && isId(sid)) {
      // Only the holder of the token's secret may end it; rotate() checks the secret (a wrong
      // one ends the session too, as a reuse). A session already over has nothing to end; a
      // store that cannot answer is the caller's to retry, not a silent "nothing to log out".
      const r = await this.#accounts.rotate(refreshToken ?? "", this.#cfg.auth.refreshTtlSec, this.#cfg.auth.refreshReuseGraceSec * 1000).catch((err: unknown) => {
        if (hasCode(err, "TOKEN_REVOKED") || hasCode(err, "UNAUTHENTICATED")) return undefined;
        throw err;
      });
      if (r && "reused" in r) this.#reused(r.reused); // revoked below, with the others
      else if (r) await this.#accounts.closeSession(userId, sid);
      if (r) sids.push(sid);
    }
    if (sids.length === 0) throw new AppError("UNAUTHENTICATED", "Nothing to log out: send a token or a refresh token");
    await this.#revoke(sids);
    return { revoked: sids.length };
  }

  /** A session whose earlier secret came back (copied): the security log hears of it; the
   *  caller revokes it. */
  #reused(s: LoginSession): void {
    this.#sec.event("token.reused", { user: s.userId, sid: s.sid, action: "session revoked" });
  }

  async me(caller: Caller | undefined): Promise<{ principal: Principal; user?: PublicUser }> {
    if (caller?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
    const p = caller.principal;
    if (p.guest) return { principal: p };
    const user = await this.#accounts.byId(p.userId);
    return user ? { principal: p, user: publicUser(user) } : { principal: p };
  }

  /** Registered users by name (a private stream's grants); BAD_REQUEST names the unknown ones. */
  async resolveUsers(usernames: readonly string[]): Promise<{ id: string; username: string }[]> {
    const found = await Promise.all(usernames.map(async (n) => ({ n, u: await this.#accounts.byUsername(n.toLowerCase()) })));
    const unknown = found.filter((f) => !f.u).map((f) => f.n);
    if (unknown.length > 0) throw new AppError("BAD_REQUEST", `No such user: ${unknown.join(", ")}`, { unknown });
    return found.flatMap((f) => (f.u ? [{ id: f.u.id, username: f.u.username }] : []));
  }

  listUsers(): Promise<PublicUser[]> {
    return this.#accounts.listUsers();
  }

  /** A user's current role; NOT_FOUND for an unknown user. */
  async userRole(userId: string): Promise<{ role: Role }> {
    const e = await this.#accounts.entry(userId);
    if (!e) throw new AppError("NOT_FOUND", "No such user");
    return { role: e.value.role };
  }

  /** Changes a role. Existing sessions are revoked: their tokens carry the old role. */
  async setRole(userId: string, role: Role): Promise<PublicUser> {
    const e = await this.#accounts.entry(userId);
    if (!e) throw new AppError("NOT_FOUND", "No such user");
    const user = { ...e.value, role };
    await this.#accounts.updateUser(user, e.revision);
    await this.revokeUser(userId);
    return publicUser(user);
  }

  async revokeUser(userId: string): Promise<{ revoked: number }> {
    const sessions = await this.#accounts.sessionsOf(userId);
    for (const s of sessions) await this.#accounts.closeSession(userId, s.sid);
    await this.#revoke(sessions.map((s) => s.sid));
    // Key-based ingests (RTMP) carry no session: media nodes end this user's by this event.
    await this.#broker.broadcast("sessions.userRevoked", { userId });
    return { revoked: sessions.length };
  }

  async rotateKeys(): Promise<{ kid: string }> {
    const key = await this.keyring.rotate();
    this.#log.info(`signing key rotated, active kid ${key.kid}`);
    await this.#broker.broadcast("sessions.keys.changed", {});
    return { kid: key.kid };
  }

  async activeRevocations(): Promise<Revocation[]> {
    const now = Date.now();
    const entries = await this.#store.list<{ until: number }>(REVOKED);
    return entries.filter((e) => e.value.until > now).map((e) => ({ sid: e.key, until: e.value.until }));
  }

  async #revoke(sids: string[]): Promise<void> {
    if (sids.length === 0) return;
    // Long enough to outlive any access token of these sessions, guests' included.
    const until = Date.now() + Math.max(this.#cfg.auth.accessTtlSec, this.#cfg.auth.guestTtlSec) * 1000;
    const list = sids.map((sid) => ({ sid, until }));
    for (const r of list) await this.#store.put(REVOKED, r.sid, { until: r.until });
    await this.#broker.broadcast("sessions.revoked", { list });
  }

  async #issue(user: User): Promise<TokenPair> {
    const s = await this.#accounts.openSession(user.id, this.#cfg.auth.refreshTtlSec);
    return { ...(await this.#access(user, s.sid)), refreshToken: s.refreshToken };
  }

  async #access(user: User, sid: string): Promise<TokenPair> {
    const key = await this.keyring.active();
    const p = { userId: user.id, name: user.displayName, role: user.role, guest: false, sid };
    const { token, exp } = await signAccessToken(p, this.#cfg.auth.accessTtlSec, key.kid, key.privateJwk);
    return { accessToken: token, accessExpiresAt: exp, user: publicUser(user) };
  }

  async #ensureAdmin(): Promise<void> {
    const { adminUser, adminPassword } = this.#cfg.auth;
    if (!adminUser) return;
    const name = adminUser.toLowerCase();
    const existing = await this.#accounts.byUsername(name);
    if (existing) {
      const e = await this.#accounts.entry(existing.id);
      if (e) await this.#accounts.updateUser({ ...e.value, role: "admin", passwordHash: await hashPassword(adminPassword, this.#cfg.auth.scryptCost) }, e.revision);
    } else {
      const user: User = { id: newId(), username: name, displayName: adminUser, role: "admin", passwordHash: await hashPassword(adminPassword, this.#cfg.auth.scryptCost), createdAt: Date.now() };
      await this.#accounts.createUser(user).catch((err: unknown) => {
        if (!hasCode(err, "CONFLICT")) throw err; // another sessions node made it
      });
    }
    this.#log.info(`admin account "${name}" ensured`);
  }

  async #housekeeping(): Promise<void> {
    try {
      await this.keyring.prune();
      const now = Date.now();
      for (const e of await this.#store.list<{ until: number }>(REVOKED)) if (e.value.until <= now) await this.#store.delete(REVOKED, e.key);
    } catch (err) {
      this.#log.warn(`housekeeping failed: ${(err as Error).message}`);
    }
  }
}
