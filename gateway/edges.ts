/**
 * The edge gateways this node knows of. Edges (gateways with gateway.edgeOrigin) announce their
 * public URL and load every 2 s (event `edges.load`); origins hand out the least-loaded one in
 * playback URLs, and name the announced ones in their pages' Content-Security-Policy.
 */
const PICK_FRESH_MS = 6000;
const CSP_FRESH_MS = 60_000;

export interface EdgeDirectoryDeps {
  /** This node's public URL when it is an edge (it announces itself), else undefined. */
  announceAs: string | undefined;
  broadcast(e: { url: string; load: number }): void;
  /** Open WebSockets on this node (part of its load). */
  connections(): number;
}

export class EdgeDirectory {
  readonly #d: EdgeDirectoryDeps;
  /** Public URL -> load and when it was heard. */
  readonly #edges = new Map<string, { load: number; at: number }>();
  #servedSinceReport = 0;

  constructor(d: EdgeDirectoryDeps) {
    this.#d = d;
  }

  /** An edge's announcement (event edges.load). */
  heard(e: { url: string; load: number }): void {
    this.#edges.set(e.url, { load: e.load, at: Date.now() });
  }

  /** One more HTTP request served here (an edge's load is requests/s + WebSockets). */
  served(): void {
    this.#servedSinceReport++;
  }

  /** Every 2 s on an edge: requests/s over the interval plus WebSockets. */
  announce(): void {
    const url = this.#d.announceAs;
    if (!url) return;
    const load = this.#servedSinceReport / 2 + this.#d.connections();
    this.#servedSinceReport = 0;
    this.#d.broadcast({ url, load });
  }

  /** The least-loaded edge heard from in the last 6 s, if any. */
  pick(): string | undefined {
    const now = Date.now();
    let best: [string, number] | undefined;
    for (const [url, e] of this.#edges) if (now - e.at < PICK_FRESH_MS && (!best || e.load < best[1])) best = [url, e.load];
    return best?.[0];
  }

  /** Origins of the edges heard from in the last minute (for the pages' CSP). */
  origins(): string[] {
    const now = Date.now();
    const out = new Set<string>();
    for (const [url, e] of this.#edges) {
      if (now - e.at >= CSP_FRESH_MS) continue;
      try {
        out.add(new URL(url).origin);
      } catch {
        // an unparsable announcement names nothing
      }
    }
    return [...out];
  }
}

/**
 * Our pages load only our own scripts (no inline script), may not be framed (clickjacking),
 * and media/XHR reach only this origin and the given edge origins (never any host: an injected
 * script could not send what it read anywhere else).
 */
export function pageHeaders(edgeOrigins: readonly string[]): Record<string, string> {
  const edges = edgeOrigins.map((o) => ` ${o}`).join("");
  return {
    "content-security-policy": `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:${edges}; media-src 'self' blob:${edges}; connect-src 'self'${edges}; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'`,
    "x-frame-options": "DENY",
  };
}
