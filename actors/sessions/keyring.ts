/**
 * Signing keys, kept in the store so every sessions node signs with the same active key and
 * every gateway can verify. Rotation adds a key and retires the old one; a retired key still
 * verifies for `graceSec` (>= access token lifetime), so nobody is logged out by a rotation.
 */
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { ALG, type PublicKey } from "../../lib/tokens.js";
import type { Store } from "../../store/index.js";

const COLLECTION = "signing_keys";

export interface SigningKey {
  kid: string;
  createdAt: number;
  retiredAt?: number;
  publicJwk: JWK;
  privateJwk: JWK;
}

export class Keyring {
  readonly #store: Store;
  readonly #graceMs: number;
  #active: SigningKey | undefined;

  constructor(store: Store, graceSec: number) {
    this.#store = store;
    this.#graceMs = graceSec * 1000;
  }

  /** The key to sign with: the newest unretired one, creating the first if there is none. */
  async active(): Promise<SigningKey> {
    if (this.#active) return this.#active;
    const live = (await this.#all()).filter((k) => k.retiredAt === undefined);
    this.#active = live.at(-1) ?? (await this.#create());
    return this.#active;
  }

  /** Drops the cached active key (another node rotated). */
  forget(): void {
    this.#active = undefined;
  }

  /** New active key; the others retire now and are pruned after the grace period. */
  async rotate(): Promise<SigningKey> {
    const now = Date.now();
    for (const e of await this.#store.list<SigningKey>(COLLECTION)) {
      if (e.value.retiredAt === undefined) await this.#store.put(COLLECTION, e.key, { ...e.value, retiredAt: now }, { expect: e.revision });
    }
    this.#active = await this.#create();
    await this.prune();
    return this.#active;
  }

  async prune(): Promise<void> {
    const cutoff = Date.now() - this.#graceMs;
    for (const k of await this.#all()) {
      if (k.retiredAt !== undefined && k.retiredAt < cutoff) await this.#store.delete(COLLECTION, k.kid);
    }
  }

  /** Public keys that may have signed a still-valid token. */
  async publicKeys(): Promise<PublicKey[]> {
    const cutoff = Date.now() - this.#graceMs;
    return (await this.#all()).filter((k) => k.retiredAt === undefined || k.retiredAt >= cutoff).map((k) => ({ kid: k.kid, jwk: k.publicJwk }));
  }

  async #all(): Promise<SigningKey[]> {
    const keys = (await this.#store.list<SigningKey>(COLLECTION)).map((e) => e.value);
    return keys.sort((a, b) => a.createdAt - b.createdAt);
  }

  async #create(): Promise<SigningKey> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: "Ed25519", extractable: true });
    const kid = randomUUID();
    const key: SigningKey = { kid, createdAt: Date.now(), publicJwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
    await this.#store.put(COLLECTION, kid, key, { expect: 0 });
    return key;
  }
}
