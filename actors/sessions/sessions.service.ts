/**
 * sessions actor: accounts, logins, tokens and their revocation.
 *
 * Actions (access level in brackets, enforced by actors/access.ts):
 *   register [public]  login [public]  guest [public]  refresh [public]  logout [public]
 *   me [guest]  listUsers [admin]  setRole [admin]  revokeUser [admin]  rotateKeys [admin]
 *   jwks [internal]  revocations [internal]  resolveUsers [internal]
 *   follow, unfollow, muteFollow, following [viewer]  followers [public]  followedIds [internal]
 *     (follow-actions.ts; a followed creator going live is pushed to followers: notify.users)
 * Events emitted (broadcast, every node): sessions.revoked {list: Revocation[]}, sessions.userRevoked {userId},
 * sessions.keys.changed {}.
 */
import { randomBytes } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import type { CallMeta } from "../../lib/identity.js";
import type { Store } from "../../store/index.js";
import { hexId, SecurityLog } from "../../lib/logging.js";
import { SessionsLogic, type TokenPair } from "./sessions-logic.js";
import { USERNAME_SCHEMA } from "../../protocol/ids.js";
import { Follows } from "./follows.js";
import { Accounts } from "./accounts.js";
import { followActions, followEvents } from "./follow-actions.js";

/** Logins and registrations go to the security log: who, from where, and the outcome. */
async function audited(sec: SecurityLog, ctx: Ctx<{ username: string }>, what: "login" | "register", run: () => Promise<TokenPair>): Promise<TokenPair> {
  const caller = ctx.meta.caller;
  const ip = caller?.kind === "anonymous" ? caller.ip : undefined;
  const username = ctx.params.username.slice(0, 32);
  const trace_id = hexId(ctx.requestID, 32); // the gateway's X-Request-Id when traces are on
  try {
    const r = await run();
    sec.event(what === "login" ? "login.ok" : "register", { username, user: r.user.id, ip, trace_id });
    return r;
  } catch (err) {
    if (what === "login") sec.event("login.failed", { username, ip, trace_id, code: (err as { type?: string }).type ?? (err as Error).name });
    throw err;
  }
}

const username = { ...USERNAME_SCHEMA, trim: true };
const password = { type: "string", min: 8, max: 256 };

type Ctx<P> = Context<P, CallMeta>;

export function sessionsService(cfg: AppConfig, store: Store): ServiceSchema {
  let logic: SessionsLogic;
  let sec: SecurityLog;
  const follows = new Follows(store);
  const accounts = new Accounts(store);
  return {
    name: "sessions",
    actions: {
      ...followActions(() => follows, () => accounts),
      register: {
        access: "public",
        params: { username, password, displayName: { type: "string", min: 1, max: 64, optional: true }, role: { type: "enum", values: ["viewer", "creator"], optional: true } },
        handler: (ctx: Ctx<{ username: string; password: string; displayName?: string; role?: "viewer" | "creator" }>) => audited(sec, ctx, "register", () => logic.register(ctx.params)),
      },
      login: {
        access: "public",
        params: { username, password: { type: "string", min: 1, max: 256 } },
        handler: (ctx: Ctx<{ username: string; password: string }>) => audited(sec, ctx, "login", () => logic.login(ctx.params.username, ctx.params.password)),
      },
      guest: { access: "public", handler: () => logic.guest() },
      refresh: {
        access: "public",
        params: { refreshToken: { type: "string", min: 10, max: 512 } },
        handler: (ctx: Ctx<{ refreshToken: string }>) => logic.refresh(ctx.params.refreshToken),
      },
      logout: {
        access: "public",
        params: { refreshToken: { type: "string", min: 10, max: 512, optional: true } },
        handler: (ctx: Ctx<{ refreshToken?: string }>) => logic.logout(ctx.meta.caller, ctx.params.refreshToken),
      },
      me: { access: "guest", handler: (ctx: Ctx<object>) => logic.me(ctx.meta.caller) },
      listUsers: { access: "admin", handler: () => logic.listUsers() },
      resolveUsers: {
        access: "internal",
        params: { usernames: { type: "array", max: 100, items: { type: "string", min: 1, max: 32 } } },
        handler: (ctx: Ctx<{ usernames: string[] }>) => logic.resolveUsers(ctx.params.usernames),
      },
      /** A user's current role (stream keys speak for their owner only while a creator or admin). */
      userRole: {
        access: "internal",
        params: { userId: { type: "string", min: 1, max: 64 } },
        handler: (ctx: Ctx<{ userId: string }>) => logic.userRole(ctx.params.userId),
      },
      setRole: {
        access: "admin",
        params: { userId: { type: "string", min: 1, max: 64 }, role: { type: "enum", values: ["viewer", "creator", "admin"] } },
        handler: (ctx: Ctx<{ userId: string; role: "viewer" | "creator" | "admin" }>) => logic.setRole(ctx.params.userId, ctx.params.role),
      },
      revokeUser: {
        access: "admin",
        params: { userId: { type: "string", min: 1, max: 64 } },
        handler: (ctx: Ctx<{ userId: string }>) => logic.revokeUser(ctx.params.userId),
      },
      rotateKeys: { access: "admin", handler: () => logic.rotateKeys() },
      jwks: { access: "internal", handler: () => logic.keyring.publicKeys() },
      revocations: { access: "internal", handler: () => logic.activeRevocations() },
      /** The secret every gateway signs and checks playback URLs with (made once, kept in the store). */
      playbackSecret: {
        access: "internal",
        async handler() {
          const existing = await store.get<{ secret: string }>("keys", "playback-url-secret");
          if (existing) return existing.value.secret;
          const secret = randomBytes(32).toString("base64");
          try {
            await store.put("keys", "playback-url-secret", { secret }, { expect: 0 });
            return secret;
          } catch {
            return (await store.get<{ secret: string }>("keys", "playback-url-secret"))?.value.secret; // made concurrently
          }
        },
      },
    },
    events: {
      ...followEvents(() => follows),
      "sessions.keys.changed": { handler: () => logic.keyring.forget() },
    },
    async started() {
      logic = new SessionsLogic(cfg, store, this.broker);
      sec = SecurityLog.of(this.broker);
      await logic.start();
    },
    stopped() {
      logic.stop();
    },
  };
}
