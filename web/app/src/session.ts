/**
 * Who is using the app: a guest (anonymous viewer token) or a logged-in user. Access tokens are
 * short-lived; the refresh token (rotated on each use) is kept in localStorage so a reload
 * keeps the login. `authed()` refreshes ahead of expiry, and once more after a TOKEN_EXPIRED
 * answer, so an expiring session never interrupts what the user is doing (typed chat stays in
 * its input: nothing here reloads the page).
 */
import { ApiError, request } from "./api";

interface TokenPair {
  accessToken: string;
  accessExpiresAt: number;
  refreshToken?: string;
  user: { id: string; displayName: string; role: string; guest?: boolean };
}

type Listener = (s: Session) => void;

const REFRESH_KEY = "esh.refresh";
const EARLY_SEC = 20;

export class Session {
  #pair: TokenPair | undefined;
  #early = EARLY_SEC;
  #pending: Promise<TokenPair> | undefined;
  readonly #listeners = new Set<Listener>();

  get user(): TokenPair["user"] | undefined {
    return this.#pair?.user;
  }

  get loggedIn(): boolean {
    return this.#pair !== undefined && this.#pair.user.guest !== true;
  }

  on(l: Listener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  #set(p: TokenPair | undefined): TokenPair | undefined {
    this.#pair = p;
    // Renew 20 s ahead, or a third of the lifetime ahead when tokens are shorter-lived than that.
    if (p) this.#early = Math.min(EARLY_SEC, Math.max(1, (p.accessExpiresAt - Date.now() / 1000) / 3));
    if (p?.refreshToken) localStorage.setItem(REFRESH_KEY, p.refreshToken);
    for (const l of this.#listeners) l(this);
    return p;
  }

  async login(username: string, password: string): Promise<void> {
    this.#set(await request<TokenPair>("POST", "/api/auth/login", { body: { username, password } }));
  }

  async logout(): Promise<void> {
    const refreshToken = localStorage.getItem(REFRESH_KEY) ?? undefined;
    localStorage.removeItem(REFRESH_KEY);
    const token = this.#pair?.accessToken;
    this.#set(undefined);
    await request("POST", "/api/auth/logout", { ...(token ? { token } : {}), body: refreshToken ? { refreshToken } : {} }).catch(() => undefined);
  }

  /** A valid access token: refreshed (or a guest token fetched) when missing or about to expire. */
  async token(): Promise<string> {
    const p = this.#pair;
    if (p && p.accessExpiresAt - Date.now() / 1000 > this.#early) return p.accessToken;
    this.#pending ??= this.#renew().finally(() => (this.#pending = undefined));
    return (await this.#pending).accessToken;
  }

  async #renew(): Promise<TokenPair> {
    const refreshToken = localStorage.getItem(REFRESH_KEY);
    if (refreshToken) {
      try {
        return this.#set(await request<TokenPair>("POST", "/api/auth/refresh", { body: { refreshToken } })) as TokenPair;
      } catch (err) {
        if (!(err instanceof ApiError) || err.status === 0) throw err; // offline: keep the refresh token
        localStorage.removeItem(REFRESH_KEY); // revoked or expired: continue as a guest
      }
    }
    return this.#set(await request<TokenPair>("POST", "/api/auth/guest")) as TokenPair;
  }

  /** The server said the access token expired (clock skew, revocation): the next token() renews. */
  expire(): void {
    if (this.#pair) this.#pair = { ...this.#pair, accessExpiresAt: 0 };
  }

  /** An authenticated request; after TOKEN_EXPIRED it refreshes once and tries again. */
  async authed<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await request<T>(method, path, { token: await this.token(), body });
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== "TOKEN_EXPIRED") throw err;
      this.expire();
      return request<T>(method, path, { token: await this.token(), body });
    }
  }
}

export const session = new Session();
