/**
 * Persistence of the platform's small, important state: users, refresh sessions, signing keys,
 * the streams catalog and room metadata. Two backends implement this one contract:
 *   store-sqlite.ts     embedded: one file in DATA_DIR (better-sqlite3, WAL)
 *   store-jetstream.ts  distributed: NATS JetStream KV buckets (replicated by NATS)
 * store.contract.ts is a test suite both backends pass.
 *
 * Contract:
 * - A value is a JSON-serialisable object, stored and returned by value (a copy: mutating a
 *   returned value changes nothing; mutating a value after put changes nothing).
 * - Every write returns the entry's new revision, a positive integer that grows with each write
 *   to that key. `put` with `expect: 0` creates only (CONFLICT if the key exists);
 *   `expect: n` writes only if the current revision is n (CONFLICT otherwise). That is the only
 *   concurrency control: read, decide, write with the revision you read.
 * - A write that returned is durable (sqlite: WAL + synchronous=NORMAL, survives a process
 *   crash; JetStream: acknowledged by the stream's replicas).
 * - Keys are 1..200 characters of [A-Za-z0-9_=-], optionally in segments joined by "." (no
 *   empty segment); collections are [a-z][a-z0-9_]{0,31}. Anything else is BAD_REQUEST: keys
 *   never reach a path or a subject unchecked.
 * - `list` returns every entry of a collection whose key starts with `prefix` (a whole-segment
 *   prefix such as "user1." or a plain string prefix), ordered by key.
 */
import { AppError } from "../lib/errors.js";

export interface Entry<T> {
  key: string;
  value: T;
  revision: number;
}

export interface PutOptions {
  /** 0: create only. n > 0: only if the current revision is n. */
  expect?: number;
}

export interface Store {
  readonly kind: string;
  get<T extends object>(collection: string, key: string): Promise<Entry<T> | undefined>;
  put(collection: string, key: string, value: object, opts?: PutOptions): Promise<number>;
  /** Deletes the key; `expect` as in put. Deleting a missing key is not an error. */
  delete(collection: string, key: string, opts?: PutOptions): Promise<void>;
  list<T extends object>(collection: string, prefix?: string): Promise<Entry<T>[]>;
  close(): Promise<void>;
}

const KEY_RE = /^[A-Za-z0-9_=-]+(\.[A-Za-z0-9_=-]+)*$/;
const COLLECTION_RE = /^[a-z][a-z0-9_]{0,31}$/;

export function checkKey(collection: string, key: string): void {
  if (!COLLECTION_RE.test(collection)) throw new AppError("BAD_REQUEST", `Invalid collection name`);
  if (key.length === 0 || key.length > 200 || !KEY_RE.test(key)) throw new AppError("BAD_REQUEST", `Invalid key`);
}

export function checkPrefix(collection: string, prefix: string): void {
  if (!COLLECTION_RE.test(collection)) throw new AppError("BAD_REQUEST", `Invalid collection name`);
  if (prefix !== "" && !/^[A-Za-z0-9_=.-]{1,200}$/.test(prefix)) throw new AppError("BAD_REQUEST", `Invalid key prefix`);
}

/** get() that answers NOT_FOUND ("No such <what>") instead of undefined. */
export async function mustGet<T extends object>(store: Store, collection: string, key: string, what: string): Promise<Entry<T>> {
  const e = await store.get<T>(collection, key);
  if (!e) throw new AppError("NOT_FOUND", `No such ${what}`);
  return e;
}

export function conflict(collection: string, key: string): AppError {
  return new AppError("CONFLICT", `${collection}/${key} exists or changed concurrently`, { collection, key });
}
