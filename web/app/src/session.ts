/**
 * Who is using the app: a guest (anonymous viewer token) or a logged-in user. Access tokens are
 * short-lived; the refresh token (rotated on each use) is kept in localStorage so a reload
 * keeps the login. `authed()` refreshes ahead of expiry, and once more after a TOKEN_EXPIRED
 * answer, so an expiring session never interrupts what the user is doing (typed chat stays in
 * its input: nothing here reloads the page).
 *
 * The server revokes a session whose refresh token is presented twice (past a short reuse
 * grace), so the tabs of one browser, which share the stored token, take turns: a refresh runs
 * under a Web Lock and uses the token stored when its turn comes, and the stored token is the
 * newest one the server gave. (A tab's view of localStorage may lag another tab's write by a
 * moment; the grace covers that, and an answer lost to a reload mid-refresh.) Only the server's
 * "this login is over" (an answer not worth repeating: 401, 409) forgets the stored token; a
 * hiccup (offline, 429, 5xx) keeps it, and `restore()` asks again until the server answers.
 */
import { isRetryable, retryDelayMs } from "../../../protocol/errors";
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
/** `restore()`'s waits after a hiccup: full jitter below 1 s, doubling to 30 s. */
const RESTORE_BASE_MS = 1000;
const RESTORE_MAX_MS = 30_000;

/** Whether asking again can succeed: offline, a server fault, or a code that says so. */
const isHiccup = (err: unknown): boolean => !(err instanceof ApiError) || err.status === 0 || err.status >= 500 || isRetryable(err.code);

/** Runs `fn` while no other tab of this origin runs a refresh (Web Locks; in a page that has
 *  none, an insecure context, it runs at once and two tabs may still race). */
function oneTabAtATime<T>(fn: () => Promise<T>): Promise<T> {
  return typeof navigator.locks === "undefined" ? fn() : navigator.locks.request("esh.refresh", fn);
}

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

  /** Restores a stored login at start (or fetches a guest token), asking again after each
   *  hiccup until the server answers: a node restarting never logs anyone out. */
  async restore(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.token();
        return;
      } catch (err) {
        const backoff = Math.random() * Math.min(RESTORE_BASE_MS * 2 ** Math.min(attempt, 10), RESTORE_MAX_MS);
        await new Promise((r) => setTimeout(r, retryDelayMs(err instanceof ApiError ? err.data : undefined, backoff)));
      }
    }
  }

  #renew(): Promise<TokenPair> {
    return oneTabAtATime(async () => {
      // Read now, not before the turn: the tab before this one rotated it.
      const refreshToken = localStorage.getItem(REFRESH_KEY);
      if (refreshToken) {
        try {
          return this.#set(await request<TokenPair>("POST", "/api/auth/refresh", { body: { refreshToken } })) as TokenPair;
        } catch (err) {
          if (isHiccup(err)) throw err; // keep the login: the next token() asks again
          // Revoked, expired or used up: continue as a guest (leaving another tab's newer token be).
          if (localStorage.getItem(REFRESH_KEY) === refreshToken) localStorage.removeItem(REFRESH_KEY);
        }
      }
      return this.#set(await request<TokenPair>("POST", "/api/auth/guest")) as TokenPair;
    });
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
