/**
 * The HTTP API, typed at the edge of the app. Errors are data: every failure becomes an
 * ApiError with the server's code (docs/protocol.md), never an untyped throw from fetch.
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** The error's data, when the server gave some (`retryAfterMs` of a refusal, say). */
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Any caught value as a message for the user. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export interface StreamCard {
  id: string;
  title: string;
  kind: "live" | "vod";
  status: string;
  category?: string;
  ownerName?: string;
  /** A video's length (seconds), when the catalog has it. */
  durationSec?: number;
  /** A live show's viewers now. */
  viewers?: number;
}

export interface RecRow {
  title: string;
  reason: string;
  /** Why these items ("Because you watched X"). */
  why: string;
  items: (Pick<StreamCard, "id" | "title" | "kind" | "category" | "ownerName" | "durationSec"> & { resumeSec?: number })[];
}

/** An answer that takes longer is given up (a black-holed connection would hold a refresh, and
 *  with it every tab's turn, for minutes): it fails as NETWORK, which callers retry. */
const REQUEST_TIMEOUT_MS = 30_000;

export async function request<T>(method: string, path: string, opts: { token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<T> {
  let res: Response;
  let text: string;
  // Not AbortSignal.timeout: browsers this build runs on (Safari 15, Chrome < 103) lack it.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), opts.timeoutMs ?? REQUEST_TIMEOUT_MS);
  try {
    res = await fetch(path, {
      method,
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      signal: abort.signal,
    });
    text = await res.text();
  } catch {
    throw new ApiError("NETWORK", "The server cannot be reached", 0);
  } finally {
    clearTimeout(timer);
  }
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not ours (a proxy's error page): the status says what happened.
    if (res.ok) throw new ApiError("MALFORMED_ANSWER", "The server's answer was not JSON", res.status);
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string; data?: Record<string, unknown> } } | null)?.error;
    throw new ApiError(err?.code ?? "HTTP_" + String(res.status), err?.message ?? res.statusText, res.status, err?.data);
  }
  return data as T;
}
