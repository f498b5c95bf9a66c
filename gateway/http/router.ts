/**
 * A small router: exact segments and `:param` segments, matched on the decoded path. A path
 * that decodes to something odd (NUL, backslash, dot segments, bad %-escapes) never matches.
 */
import type { Principal } from "../../lib/identity.js";
import type { Exchange } from "./exchange.js";

/** `none`: no token looked at; `optional`: used if present; `required`: 401 without one. */
export type AuthMode = "none" | "optional" | "required";

export interface RouteContext {
  ex: Exchange;
  params: Record<string, string>;
  principal: Principal | undefined;
  body: unknown;
}

export interface RouteResult {
  status?: number;
  /** Sent as JSON, unless `raw` is given. */
  body?: unknown;
  /** A non-JSON answer (an SDP answer), sent as is with this content type. */
  raw?: { type: string; text: string | Buffer };
  headers?: Record<string, string>;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  auth: AuthMode;
  /** Body expected (POST/PUT/PATCH): JSON (true), an SDP offer as text ("sdp", WHIP/WHEP), or
   *  raw bytes ("octets", upload chunks, up to vod.uploadChunkMaxBytes). */
  body?: boolean | "sdp" | "octets";
  /** Checked after the token and before more than a few KB of the body is read (octets bodies:
   *  a stranger's 16 MB chunk is never buffered). Throws to refuse. */
  authorize?: (ctx: Omit<RouteContext, "body">) => Promise<void>;
  /** The bearer may also be a live stream's key (encoders keep it in their settings): the
   *  stream's owner then speaks, with session id `ingest:<stream id>`. */
  streamKey?: boolean;
  /** Use the stricter per-IP limiter for password-guessable endpoints. */
  authLimited?: boolean;
  summary: string;
  handler: (ctx: RouteContext) => Promise<RouteResult> | RouteResult;
}

export type Match = { route: Route; params: Record<string, string> } | { allowed: string[] } | undefined;

export class Router {
  readonly routes: Route[] = [];

  add(...routes: Route[]): this {
    this.routes.push(...routes);
    return this;
  }

  /** A route, the methods allowed at this path (for 405), or undefined (404). */
  match(method: string, rawPath: string): Match {
    const segments = decodePath(rawPath);
    if (!segments) return undefined;
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchPath(route.path, segments);
      if (!params) continue;
      if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }
}

/** Splits and decodes a path; undefined for anything a path should not contain. */
export function decodePath(raw: string): string[] | undefined {
  if (!raw.startsWith("/") || raw.length > 2048) return undefined;
  const parts = raw.slice(1).split("/");
  const out: string[] = [];
  for (const p of parts) {
    let seg: string;
    try {
      seg = decodeURIComponent(p);
    } catch {
      return undefined;
    }
    if (seg === "." || seg === ".." || /[\0\\/]/.test(seg)) return undefined;
    out.push(seg);
  }
  return out;
}

function matchPath(pattern: string, segments: string[]): Record<string, string> | undefined {
  const pat = pattern.slice(1).split("/");
  if (pat.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pat.length; i++) {
    const p = pat[i] ?? "";
    const s = segments[i] ?? "";
    if (p.startsWith(":")) {
      if (s === "") return undefined;
      params[p.slice(1)] = s;
    } else if (p !== s) return undefined;
  }
  return params;
}
