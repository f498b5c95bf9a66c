/**
 * Keeps this gateway's token verifier current with the sessions actor: its public keys and the
 * revocation list, at start, every 5 s, when keys change, when a sessions actor appears, and
 * after faults (retried every 0.5 s until it works). The gateway verifies tokens itself, so no
 * request waits on an RPC.
 */
import type { LoggerInstance } from "moleculer";
import type { Revocation } from "../lib/revocations.js";
import type { TokenVerifier } from "../lib/tokens.js";

export interface AuthSyncDeps {
  verifier: TokenVerifier;
  fetchRevocations(): Promise<Revocation[]>;
  /** Applies a revocation list (closes the sockets of revoked sessions too). */
  onRevoked(list: Revocation[]): void;
  /** Whether a sessions actor is reachable. */
  sessionsAvailable(): boolean;
  log: LoggerInstance;
}

export class AuthSync {
  readonly #d: AuthSyncDeps;
  #keysLoaded = false;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(d: AuthSyncDeps) {
    this.#d = d;
  }

  get keysLoaded(): boolean {
    return this.#keysLoaded;
  }

  sync(): void {
    if (this.#stopped) return;
    clearTimeout(this.#retry);
    void this.#d.verifier
      .refresh()
      .then(async () => {
        this.#keysLoaded = this.#d.verifier.keyCount > 0;
        // Through onRevoked, so sockets of a revocation whose event this node missed (it joined
        // moments before, or NATS was down) are closed too, not just refused next time.
        this.#d.onRevoked(await this.#d.fetchRevocations());
      })
      .catch((err: unknown) => {
        this.#d.log.warn(`cannot sync keys/revocations yet (${(err as Error).message}); retrying`);
        this.#retry = setTimeout(() => this.sync(), 500);
        this.#retry.unref();
      });
  }

  /** The node drains: no more syncing. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
  }

  /** The sessions actor rotated its keys (event sessions.keys.changed). */
  onKeysChanged(): void {
    void this.#d.verifier.refresh().catch((err: unknown) => this.#d.log.warn(`key refresh failed: ${String(err)}`));
  }

  /** A sessions actor appeared (start-up order, a node joined): load keys now, not on the next timer. */
  onServicesChanged(): void {
    if (!this.#keysLoaded && this.#d.sessionsAvailable()) this.sync();
  }
}
