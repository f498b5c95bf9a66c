/**
 * Access tokens: JWTs signed with Ed25519 (EdDSA), `kid` in the header, short expiry.
 * Signing lives in the sessions actor; verification (TokenVerifier) runs on every gateway
 * from the public keys the sessions actor publishes, so checking a token costs no RPC.
 */
import { createPublicKey, verify as cryptoVerify, type JsonWebKeyInput, type KeyObject } from "node:crypto";
import { errors as joseErrors, importJWK, jwtVerify, SignJWT, decodeProtectedHeader, type JWK } from "jose";
import { AppError } from "./errors.js";
import { isRole, type Principal } from "./identity.js";

export const ISSUER = "echostreamhub";
export const ALG = "EdDSA";

export interface PublicKey {
  kid: string;
  jwk: JWK;
}

type KeyLike = Awaited<ReturnType<typeof importJWK>>;

export async function signAccessToken(p: Omit<Principal, "exp">, ttlSec: number, kid: string, privateJwk: JWK): Promise<{ token: string; exp: number }> {
  const key = await importJWK(privateJwk, ALG);
  const now = Math.floor(Date.now() / 1000);
  const exp = now + ttlSec;
  const token = await new SignJWT({ role: p.role, name: p.name, sid: p.sid, guest: p.guest })
    .setProtectedHeader({ alg: ALG, kid, typ: "JWT" })
    .setSubject(p.userId)
    .setIssuer(ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(key);
  return { token, exp };
}

/** What a verifier needs from the outside: current public keys, and revoked session ids. */
export interface KeySource {
  fetchKeys(): Promise<PublicKey[]>;
}

export interface RevocationCheck {
  isRevoked(sid: string): boolean;
}

/**
 * Verifies access tokens against a cached key set. An unknown `kid` triggers one refetch
 * (at most once a second), which is how a rotated key reaches a gateway that missed the event.
 */
export class TokenVerifier {
  readonly #keys = new Map<string, KeyLike>();
  /** The same keys as node KeyObjects, for verifySync. */
  readonly #syncKeys = new Map<string, KeyObject>();
  readonly #source: KeySource;
  readonly #revocations: RevocationCheck;
  #lastFetch = 0;
  #fetching: Promise<void> | undefined;

  constructor(source: KeySource, revocations: RevocationCheck) {
    this.#source = source;
    this.#revocations = revocations;
  }

  /** Replaces the key set (on start, and when the sessions actor says keys changed). */
  async refresh(): Promise<void> {
    this.#fetching ??= this.#load().finally(() => (this.#fetching = undefined));
    return this.#fetching;
  }

  async #load(): Promise<void> {
    this.#lastFetch = Date.now();
    const keys = await this.#source.fetchKeys();
    const imported = await Promise.all(keys.map(async (k) => [k.kid, await importJWK(k.jwk, ALG)] as const));
    this.#keys.clear();
    this.#syncKeys.clear();
    for (const [kid, key] of imported) this.#keys.set(kid, key);
    for (const k of keys) this.#syncKeys.set(k.kid, createPublicKey({ key: k.jwk as JsonWebKeyInput["key"], format: "jwk" }));
  }

  async verify(token: string): Promise<Principal> {
    const kid = headerKid(token);
    let key = this.#keys.get(kid);
    // Refetch for an unknown kid at most once a second, or whenever no key set was loaded yet
    // (fetches are deduplicated: one in flight at a time).
    if (!key && (Date.now() - this.#lastFetch > 1000 || this.#keys.size === 0)) {
      await this.refresh().catch(() => undefined);
      key = this.#keys.get(kid);
    }
    if (!key) throw new AppError("UNAUTHENTICATED", "Token signed by an unknown key");
    const principal = await verifyWith(token, key);
    if (this.#revocations.isRevoked(principal.sid)) throw new AppError("TOKEN_REVOKED", "The session was revoked");
    return principal;
  }

  /**
   * The same checks as verify(), synchronously (node:crypto Ed25519), for callers that must
   * answer within a callback (the WebSocket upgrade: uWS mishandles some asynchronous upgrades).
   * Returns undefined when it cannot decide without I/O (an unknown kid): use verify() then.
   */
  verifySync(token: string): Principal | undefined {
    const kid = headerKid(token);
    const key = this.#syncKeys.get(kid);
    if (!key) return undefined;
    const principal = verifyEd25519(token, key);
    if (this.#revocations.isRevoked(principal.sid)) throw new AppError("TOKEN_REVOKED", "The session was revoked");
    return principal;
  }

  get keyCount(): number {
    return this.#keys.size;
  }
}

function headerKid(token: string): string {
  try {
    const h = decodeProtectedHeader(token);
    if (h.alg !== ALG || typeof h.kid !== "string") throw new Error("bad header");
    return h.kid;
  } catch {
    throw new AppError("UNAUTHENTICATED", "Malformed token");
  }
}

/** Claims to a Principal; throws when they are not ours. */
function principalOf(payload: Record<string, unknown>): Principal {
  const { sub, role, name, sid, guest, exp } = payload;
  if (typeof sub !== "string" || !isRole(role) || typeof sid !== "string" || typeof exp !== "number") throw new Error("bad claims");
  return { userId: sub, role, name: typeof name === "string" ? name : sub, sid, guest: guest === true, exp };
}

/** A compact JWS checked like jwtVerify does for our tokens: EdDSA signature, issuer, exp, nbf. */
function verifyEd25519(token: string, key: KeyObject): Principal {
  const parts = token.split(".");
  const [h, p, sig] = parts;
  let payload: Record<string, unknown>;
  try {
    if (parts.length !== 3 || !h || !p || !sig) throw new Error("not a compact JWS");
    if (!cryptoVerify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(sig, "base64url"))) throw new Error("bad signature");
    const parsed = JSON.parse(Buffer.from(p, "base64url").toString()) as unknown;
    if (typeof parsed !== "object" || parsed === null) throw new Error("not a claims set");
    payload = parsed as Record<string, unknown>;
    if (payload.iss !== ISSUER) throw new Error("bad issuer");
  } catch {
    throw new AppError("UNAUTHENTICATED", "Invalid token");
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.nbf === "number" && payload.nbf > now) throw new AppError("UNAUTHENTICATED", "Invalid token");
  if (typeof payload.exp !== "number" || payload.exp <= now) throw new AppError(typeof payload.exp === "number" ? "TOKEN_EXPIRED" : "UNAUTHENTICATED", typeof payload.exp === "number" ? "The access token expired" : "Invalid token");
  try {
    return principalOf(payload);
  } catch {
    throw new AppError("UNAUTHENTICATED", "Invalid token");
  }
}

async function verifyWith(token: string, key: KeyLike): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: [ALG] });
    return principalOf(payload);
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new AppError("TOKEN_EXPIRED", "The access token expired");
    throw new AppError("UNAUTHENTICATED", "Invalid token");
  }
}
