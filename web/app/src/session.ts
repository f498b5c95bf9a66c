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
 * moment; the grace covers that, and an answer lost to a reload mid-refresh.) Only our server's
 * "this login is over" (400/401) forgets the stored token; a hiccup (offline, 409, 429, 5xx, a
 * proxy's page) keeps it, and `restore()` asks again until the server answers.
 */
import { fullJitter } from "../../../protocol/close-codes";
import { isErrorCode, retryDelayMs } from "../../../protocol/errors";
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
/** `restore()`'s waits after a hiccup: full jitter below 1 s, doubling to 30 s; a wait the
 *  server names is kept within [0.25 s, 60 s] and spread by a quarter either way. */
const RESTORE_BASE_MS = 1000;
const RESTORE_MAX_MS = 30_000;
const SERVER_WAIT_MS = [250, 60_000] as const;

/** A refresh whose answer did not come may still have rotated the token on the server, which
 *  honours the old one for its reuse grace only (20 s by default): it is asked again at once,
 *  within the turn, REFRESH_TRIES times in REFRESH_TIMEOUT_MS each, a second apart (17 s at most). */
const REFRESH_TRIES = 3;
const REFRESH_TIMEOUT_MS = 5000;
const REFRESH_PAUSE_MS = 1000;
const LOGOUT_TRIES = 3;

/** Our server's "this login is over" (revoked, expired, malformed: 400/401 with one of our
 *  codes): the stored token is forgotten. Anything else (offline, a proxy's page, 403/404 from
 *  something in the way, 409, 429, 5xx) may pass: the login is kept and asked for again. */
const isFinal = (err: unknown): boolean => err instanceof ApiError && (err.status === 400 || err.status === 401) && isErrorCode(err.code);

/** A token pair, or a MALFORMED_ANSWER error (kept as a hiccup: the login stays). */
async function pair(path: string, body?: unknown, timeoutMs?: number): Promise<TokenPair> {
  const p = await request<TokenPair | null>("POST", path, { ...(body === undefined ? {} : { body }), ...(timeoutMs ? { timeoutMs } : {}) });
  if (typeof p?.accessToken !== "string" || typeof p.accessExpiresAt !== "number" || typeof p.user !== "object") {
    throw new ApiError("MALFORMED_ANSWER", "The server's token answer was not a token pair", 200);
  }
  return p;
}

/** The refresh, asked again at once when its answer did not come (no answer, or the gateway's
 *  TIMEOUT: the sessions actor may have rotated it). A refusal that came (429, 503) did not
 *  rotate anything: `restore()` waits as it says. */
async function refreshed(refreshToken: string): Promise<TokenPair> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pair("/api/auth/refresh", { refreshToken }, REFRESH_TIMEOUT_MS);
    } catch (err) {
      const unanswered = err instanceof ApiError && (err.status === 0 || err.status === 504);
      if (!unanswered || attempt >= REFRESH_TRIES) throw err;
      await new Promise((r) => setTimeout(r, REFRESH_PAUSE_MS));
    }
  }
}

function restoreWait(err: unknown, attempt: number): number {
  const backoff = fullJitter(attempt, Math.random(), RESTORE_BASE_MS, RESTORE_MAX_MS);
  const named = retryDelayMs(err instanceof ApiError ? err.data : undefined, -1);
  if (named < 0) return backoff;
  return Math.min(SERVER_WAIT_MS[1], Math.max(SERVER_WAIT_MS[0], named)) * (0.75 + 0.5 * Math.random());
}

/** Runs `fn` while no other tab of this origin refreshes, logs in or out (Web Locks; in a page
 *  that has none, an insecure context, it runs at once and the server's reuse grace is what
 *  keeps two tabs refreshing together logged in). */
function oneTabAtATime<T>(fn: () => Promise<T>): Promise<T> {
  const locks = navigator.locks as LockManager | undefined;
  return locks ? locks.request("esh.refresh", fn) : fn();
}

export class Session {
  #pair: TokenPair | undefined;
  #early = EARLY_SEC;
  #pending: Promise<TokenPair> | undefined;
  readonly #listeners = new Set<Listener>();

  /** Counts changes (login, logout, renewal), for screens that re-read on a change. */
  version = 0;

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

  #set(p: TokenPair | undefined): void {
    this.#pair = p;
    this.version++;
    // Renew 20 s ahead, or a third of the lifetime ahead when tokens are shorter-lived than that.
    if (p) this.#early = Math.min(EARLY_SEC, Math.max(1, (p.accessExpiresAt - Date.now() / 1000) / 3));
    if (p?.refreshToken) localStorage.setItem(REFRESH_KEY, p.refreshToken);
    for (const l of this.#listeners) l(this);
  }

  /** Logs in; in turn with the tabs' refreshes, so none of them stores the old login after it. */
  async login(username: string, password: string): Promise<void> {
    await oneTabAtATime(async () => this.#set(await pair("/api/auth/login", { username, password })));
  }

  async logout(): Promise<void> {
    const ended = await oneTabAtATime(() => {
      const refreshToken = localStorage.getItem(REFRESH_KEY) ?? undefined;
      localStorage.removeItem(REFRESH_KEY);
      const token = this.#pair?.accessToken;
      this.#set(undefined);
      return Promise.resolve({ refreshToken, token });
    });
    // The server must end the session too (this device forgot it already): asked again through a
    // hiccup (a store away answers UNAVAILABLE), a few times.
    for (let attempt = 1; ; attempt++) {
      const err = await request("POST", "/api/auth/logout", { ...(ended.token ? { token: ended.token } : {}), body: ended.refreshToken ? { refreshToken: ended.refreshToken } : {} }).then(() => undefined, (e: unknown) => e);
      if (err === undefined || isFinal(err) || attempt >= LOGOUT_TRIES) return;
      await new Promise((r) => setTimeout(r, REFRESH_PAUSE_MS * attempt));
    }
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
        if (isFinal(err)) return; // not even a guest token: nothing asking again would change
        await new Promise((r) => setTimeout(r, restoreWait(err, attempt)));
      }
    }
  }

  #renew(): Promise<TokenPair> {
    return oneTabAtATime(async () => {
      const fresh = this.#pair;
      // A login, or another call's renewal, while this one waited for its turn.
      if (fresh && fresh.accessExpiresAt - Date.now() / 1000 > this.#early) return fresh;
      // Read now, not before the turn: the tab before this one rotated it.
      let refreshToken = localStorage.getItem(REFRESH_KEY);
      while (refreshToken) {
        try {
          const p = await refreshed(refreshToken);
          this.#set(p);
          return p;
        } catch (err) {
          if (!isFinal(err)) throw err; // keep the login: the next token() asks again
          const now = localStorage.getItem(REFRESH_KEY);
          if (now === refreshToken) localStorage.removeItem(REFRESH_KEY); // revoked, expired: a guest now
          refreshToken = now !== refreshToken ? now : null; // another tab stored a newer one: that one
        }
      }
      const p = await pair("/api/auth/guest");
      this.#set(p);
      return p;
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
