/**
 * Ownership is data, not a role: the access middleware lets creators in, this check then
 * lets only the resource's owner (or an admin) change it.
 */
import { AppError } from "../lib/errors.js";
import type { Caller } from "../lib/identity.js";

export function assertOwnerOrAdmin(caller: Caller | undefined, ownerId: string): void {
  if (caller === undefined) return; // an actor acting for itself
  if (caller.kind === "user" && (caller.principal.role === "admin" || caller.principal.userId === ownerId)) return;
  throw new AppError("FORBIDDEN", "Only the owner or an admin may change this");
}

export function callerUserId(caller: Caller | undefined): string {
  if (caller?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
  return caller.principal.userId;
}
