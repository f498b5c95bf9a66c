/**
 * Stream keys: the long-lived secret an encoder (OBS, vMix, ffmpeg, a hardware box) publishes a
 * live stream with, over RTMP (`rtmp://host:port/live/<key>`), SRT (`streamid`) or WHIP (as the
 * bearer token). A key is `<stream id>.<secret>`: the secret is derived (HMAC-SHA256 under a
 * cluster secret kept in the store) from the stream id and the key's version, so the owner can
 * reveal it again; what the store keeps of it is only its SHA-256 hash and version. Rotating
 * bumps the version (the old key stops working at once); revoking refuses every key until the
 * next rotation.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { AppError, hasCode } from "../../lib/errors.js";
import { isId } from "../../protocol/ids.js";
import type { Store } from "../../store/index.js";

const C = "ingest_keys";
const SECRET = { collection: "keys", key: "ingest-key-secret" };

export interface IngestKeyRecord {
  version: number;
  /** SHA-256 (hex) of the whole key. */
  hash: string;
  revoked: boolean;
  changedAt: number;
}

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

export class IngestKeys {
  readonly #store: Store;
  #secret: Promise<Buffer> | undefined;

  constructor(store: Store) {
    this.#store = store;
  }

  /** The stream's current key (made on first use); FORBIDDEN while revoked. */
  async reveal(streamId: string): Promise<string> {
    const rec = await this.#record(streamId);
    if (rec.revoked) throw new AppError("FORBIDDEN", "The stream key was revoked: rotate it to get a new one");
    return this.#derive(streamId, rec.version);
  }

  /** A new key; the old one stops working at once. */
  async rotate(streamId: string): Promise<string> {
    return this.#change(streamId, (r) => ({ version: r.version + 1, revoked: false }));
  }

  /** No key works until the next rotation. */
  async revoke(streamId: string): Promise<void> {
    await this.#change(streamId, (r) => ({ version: r.version, revoked: true }));
  }

  /** The stream a key publishes to, or undefined for a wrong, old or revoked key. */
  async verify(key: string): Promise<string | undefined> {
    const dot = key.lastIndexOf(".");
    const streamId = key.slice(0, dot);
    if (dot <= 0 || key.length > 200 || !isId(streamId)) return undefined;
    const rec = await this.#store.get<IngestKeyRecord>(C, streamId);
    if (!rec || rec.value.revoked) return undefined;
    const a = Buffer.from(sha256(key), "hex");
    const b = Buffer.from(rec.value.hash, "hex");
    return a.length === b.length && timingSafeEqual(a, b) ? streamId : undefined;
  }

  async remove(streamId: string): Promise<void> {
    await this.#store.delete(C, streamId).catch(() => undefined);
  }

  async #record(streamId: string): Promise<IngestKeyRecord> {
    const e = await this.#store.get<IngestKeyRecord>(C, streamId);
    if (e) return e.value;
    const rec: IngestKeyRecord = { version: 1, hash: sha256(await this.#derive(streamId, 1)), revoked: false, changedAt: Date.now() };
    try {
      await this.#store.put(C, streamId, rec, { expect: 0 });
      return rec;
    } catch (err) {
      if (!hasCode(err, "CONFLICT")) throw err;
      return (await this.#store.get<IngestKeyRecord>(C, streamId))?.value ?? rec; // made concurrently
    }
  }

  async #change(streamId: string, next: (r: IngestKeyRecord) => { version: number; revoked: boolean }): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      await this.#record(streamId);
      const e = await this.#store.get<IngestKeyRecord>(C, streamId);
      if (!e) continue;
      const { version, revoked } = next(e.value);
      const key = await this.#derive(streamId, version);
      try {
        await this.#store.put(C, streamId, { version, hash: sha256(key), revoked, changedAt: Date.now() } satisfies IngestKeyRecord, { expect: e.revision });
        return key;
      } catch (err) {
        if (!hasCode(err, "CONFLICT") || attempt >= 4) throw err;
      }
    }
  }

  async #derive(streamId: string, version: number): Promise<string> {
    const mac = createHmac("sha256", await this.#clusterSecret()).update(`${streamId}:${String(version)}`).digest("base64url");
    return `${streamId}.${mac.slice(0, 32)}`;
  }

  /** One secret for the cluster, made by whichever node needs it first. */
  #clusterSecret(): Promise<Buffer> {
    this.#secret ??= (async () => {
      const e = await this.#store.get<{ secret: string }>(SECRET.collection, SECRET.key);
      if (e) return Buffer.from(e.value.secret, "base64");
      const secret = randomBytes(32).toString("base64");
      try {
        await this.#store.put(SECRET.collection, SECRET.key, { secret }, { expect: 0 });
        return Buffer.from(secret, "base64");
      } catch (err) {
        if (!hasCode(err, "CONFLICT")) throw err;
        const won = await this.#store.get<{ secret: string }>(SECRET.collection, SECRET.key);
        if (!won) throw err;
        return Buffer.from(won.value.secret, "base64");
      }
    })();
    this.#secret.catch(() => (this.#secret = undefined));
    return this.#secret;
  }
}
