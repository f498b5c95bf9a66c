/**
 * The one place roles are enforced. Every action declares `access` (see lib/identity.ts); an
 * action without it fails the node at start-up, so nothing is open by omission.
 *
 * Calls made by an action on behalf of its caller (ctx.level > 1) were authorised when the
 * outer action was; they pass. Calls that come from the edge (level 1) carry `meta.caller`,
 * set by the gateway from a verified token; a level-1 call without it is from another actor
 * and may run `internal` actions.
 */
import type { ActionSchema, Context, Middleware, ServiceBroker } from "moleculer";
import { AppError } from "../lib/errors.js";
import { ACCESS_LEVELS, type Access, type CallMeta, type Role } from "../lib/identity.js";

const ROLE_RANK: Record<Role, number> = { viewer: 1, creator: 2, admin: 3 };
const NEED_RANK: Partial<Record<Access, number>> = { viewer: 1, creator: 2, admin: 3 };

type Handler = (ctx: Context<unknown, CallMeta>) => Promise<unknown>;

export function accessOf(action: ActionSchema): Access {
  const access: unknown = (action as { access?: unknown }).access;
  if (typeof access !== "string" || !(ACCESS_LEVELS as readonly string[]).includes(access)) {
    throw new Error(`action ${String(action.name)} declares no valid access level (one of ${ACCESS_LEVELS.join(", ")})`);
  }
  return access as Access;
}

/** Throws the typed error for a caller who may not run an action of this level. */
export function checkAccess(access: Access, meta: CallMeta, level: number): void {
  if (level > 1 || access === "public") return;
  const caller = meta.caller;
  if (caller === undefined) return; // another actor calling directly
  if (access === "internal") throw new AppError("FORBIDDEN", "Internal action");
  if (caller.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
  if (access === "guest") return;
  const p = caller.principal;
  if (p.guest) throw new AppError("FORBIDDEN", "Guests cannot do this: register or log in");
  const need = NEED_RANK[access] ?? Infinity;
  if (ROLE_RANK[p.role] < need) throw new AppError("FORBIDDEN", `Requires role ${access}`);
}

export function AccessMiddleware(): Middleware {
  return {
    name: "Access",
    localAction(next: Handler, action: ActionSchema): Handler {
      // $node.* and other Moleculer internals are internal by definition.
      const name = String(action.name);
      const access = name.startsWith("$") ? "internal" : accessOf(action);
      // A refusal is a rejected promise, never a synchronous throw: Moleculer's context tracker
      // forgets a request only when its promise settles, and a throw here skipped that, so each
      // refused call stayed "running" and every later shutdown waited the full drain timeout.
      return function checkedAction(ctx) {
        try {
          checkAccess(access, ctx.meta, ctx.level);
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
        return next(ctx);
      };
    },
    created(broker: ServiceBroker) {
      broker.logger.info("access middleware: every action is checked against its declared level");
    },
  } as unknown as Middleware; // Moleculer's Middleware type is a loose union; the hooks above are its documented shapes
}
