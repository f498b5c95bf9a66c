/**
 * The HTTP API under /api/: each route names the actor action it calls. Authorisation is the
 * actors' business (actors/access.ts); the gateway only says who is calling.
 */
import type { Principal } from "../../lib/identity.js";
import type { Route, RouteContext, RouteResult } from "./router.js";

export type ActorCall = (action: string, params: Record<string, unknown>, principal: Principal | undefined, ctx: RouteContext) => Promise<unknown>;

const obj = (body: unknown): Record<string, unknown> => (typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {});

function action(call: ActorCall, name: string, params: (ctx: RouteContext) => Record<string, unknown>, status = 200) {
  return async (ctx: RouteContext): Promise<RouteResult> => ({ status, body: await call(name, params(ctx), ctx.principal, ctx) });
}

export function apiRoutes(call: ActorCall): Route[] {
  const body = (ctx: RouteContext) => obj(ctx.body);
  const withId = (ctx: RouteContext) => ({ ...obj(ctx.body), id: ctx.params.id });
  const query = (ctx: RouteContext) => Object.fromEntries(ctx.ex.head.query.entries());
  return [
    { method: "POST", path: "/api/auth/register", auth: "none", body: true, authLimited: true, summary: "Create an account (viewer or creator); returns tokens", handler: action(call, "sessions.register", body, 201) },
    { method: "POST", path: "/api/auth/login", auth: "none", body: true, authLimited: true, summary: "Log in; returns an access and a refresh token", handler: action(call, "sessions.login", body) },
    { method: "POST", path: "/api/auth/guest", auth: "none", authLimited: true, summary: "A guest viewer token for anonymous watching", handler: action(call, "sessions.guest", () => ({})) },
    { method: "POST", path: "/api/auth/refresh", auth: "none", body: true, authLimited: true, summary: "Swap a refresh token for new tokens (rotates it)", handler: action(call, "sessions.refresh", body) },
    { method: "POST", path: "/api/auth/logout", auth: "optional", body: true, summary: "End this session (access token and/or refresh token)", handler: action(call, "sessions.logout", body) },
    { method: "GET", path: "/api/auth/me", auth: "required", summary: "Who the token belongs to", handler: action(call, "sessions.me", () => ({})) },
    { method: "GET", path: "/api/streams", auth: "optional", summary: "List streams (?status=&ownerId=&limit=)", handler: action(call, "streams.list", query) },
    { method: "POST", path: "/api/streams", auth: "required", body: true, summary: "Create a stream (creator)", handler: action(call, "streams.create", body, 201) },
    { method: "GET", path: "/api/search", auth: "optional", summary: "Search the catalog (?q=&kind=live|vod&category=&language=&offset=&limit=): ranked, typo-tolerant, paged", handler: action(call, "streams.search", query) },
    { method: "GET", path: "/api/streams/:id", auth: "optional", summary: "One stream", handler: action(call, "streams.get", (c) => ({ id: c.params.id })) },
    { method: "PATCH", path: "/api/streams/:id", auth: "required", body: true, summary: "Change title/description (owner or admin)", handler: action(call, "streams.update", withId) },
    { method: "DELETE", path: "/api/streams/:id", auth: "required", summary: "Delete a stream and its room (owner or admin)", handler: action(call, "streams.remove", (c) => ({ id: c.params.id })) },
    { method: "GET", path: "/api/follows", auth: "required", summary: "The creators I follow, newest first", handler: action(call, "sessions.following", () => ({})) },
    { method: "PUT", path: "/api/follows/:id", auth: "required", summary: "Follow a creator (user id)", handler: action(call, "sessions.follow", (c) => ({ creatorId: c.params.id })) },
    { method: "DELETE", path: "/api/follows/:id", auth: "required", summary: "Unfollow a creator", handler: action(call, "sessions.unfollow", (c) => ({ creatorId: c.params.id })) },
    { method: "PATCH", path: "/api/follows/:id", auth: "required", body: true, summary: "Mute or unmute a followed creator's live notifications ({muted})", handler: action(call, "sessions.muteFollow", (c) => ({ ...obj(c.body), creatorId: c.params.id })) },
    { method: "GET", path: "/api/creators/:id/followers", auth: "optional", summary: "How many follow a creator; whether the caller does (and muted them)", handler: action(call, "sessions.followers", (c) => ({ creatorId: c.params.id })) },
    { method: "PUT", path: "/api/streams/:id/captions/:lang", auth: "required", body: true, summary: "Attach or replace a video's WebVTT captions in one language ({label, vtt}; owner or admin); a bad file is refused with its wrong line", handler: action(call, "streams.setCaptions", (c) => ({ ...obj(c.body), id: c.params.id, lang: c.params.lang })) },
    { method: "DELETE", path: "/api/streams/:id/captions/:lang", auth: "required", summary: "Remove a video's captions in one language (owner or admin)", handler: action(call, "streams.removeCaptions", (c) => ({ id: c.params.id, lang: c.params.lang })) },
    { method: "GET", path: "/api/rooms/:id", auth: "optional", summary: "A stream's room settings", handler: action(call, "rooms.get", (c) => ({ id: c.params.id })) },
    { method: "PATCH", path: "/api/rooms/:id", auth: "required", body: true, summary: "Change room settings (owner or admin)", handler: action(call, "rooms.update", withId) },
    { method: "GET", path: "/api/admin/users", auth: "required", summary: "All users (admin)", handler: action(call, "sessions.listUsers", () => ({})) },
    { method: "POST", path: "/api/admin/users/:id/role", auth: "required", body: true, summary: "Set a user's role; revokes their sessions (admin)", handler: action(call, "sessions.setRole", (c) => ({ ...obj(c.body), userId: c.params.id })) },
    { method: "POST", path: "/api/admin/users/:id/revoke", auth: "required", summary: "Revoke every session of a user (admin)", handler: action(call, "sessions.revokeUser", (c) => ({ userId: c.params.id })) },
    { method: "POST", path: "/api/admin/keys/rotate", auth: "required", summary: "Rotate the token signing key (admin); nobody is logged out", handler: action(call, "sessions.rotateKeys", () => ({})) },
  ];
}
