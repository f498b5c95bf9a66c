/** Embedded store: one sqlite file in DATA_DIR. Contract in store.ts. */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { checkKey, checkPrefix, conflict, type Entry, type PutOptions, type Store } from "./store.js";

interface Row {
  key: string;
  value: string;
  revision: number;
}

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly #db: Database.Database;
  #closed = false;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = NORMAL");
    this.#db.pragma("busy_timeout = 5000");
    this.#db.exec(`CREATE TABLE IF NOT EXISTS kv (
      collection TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, revision INTEGER NOT NULL,
      PRIMARY KEY (collection, key)) WITHOUT ROWID`);
  }

  get<T extends object>(collection: string, key: string): Promise<Entry<T> | undefined> {
    return settle(() => {
      checkKey(collection, key);
      const row = this.#db.prepare<[string, string], Row>("SELECT key, value, revision FROM kv WHERE collection = ? AND key = ?").get(collection, key);
      return row ? toEntry<T>(row) : undefined;
    });
  }

  put(collection: string, key: string, value: object, opts: PutOptions = {}): Promise<number> {
    return settle(() => this.#put(collection, key, value, opts));
  }

  #put(collection: string, key: string, value: object, opts: PutOptions): number {
    checkKey(collection, key);
    const json = JSON.stringify(value);
    const write = this.#db.transaction((): number => {
      const current = this.#revision(collection, key);
      if (opts.expect !== undefined && opts.expect !== current) throw conflict(collection, key);
      const next = current + 1;
      this.#db
        .prepare("INSERT INTO kv (collection, key, value, revision) VALUES (?, ?, ?, ?) ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value, revision = excluded.revision")
        .run(collection, key, json, next);
      return next;
    });
    return write();
  }

  delete(collection: string, key: string, opts: PutOptions = {}): Promise<void> {
    return settle(() => {
      checkKey(collection, key);
      const del = this.#db.transaction(() => {
        if (opts.expect !== undefined && opts.expect !== this.#revision(collection, key)) throw conflict(collection, key);
        this.#db.prepare("DELETE FROM kv WHERE collection = ? AND key = ?").run(collection, key);
      });
      del();
    });
  }

  list<T extends object>(collection: string, prefix = ""): Promise<Entry<T>[]> {
    return settle(() => this.#list<T>(collection, prefix));
  }

  #list<T extends object>(collection: string, prefix: string): Entry<T>[] {
    checkPrefix(collection, prefix);
    // substr comparison, not LIKE: "_" in a prefix must mean "_".
    const rows = this.#db
      .prepare<[{ c: string; p: string; n: number }], Row>("SELECT key, value, revision FROM kv WHERE collection = @c AND substr(key, 1, @n) = @p ORDER BY key")
      .all({ c: collection, p: prefix, n: prefix.length });
    return rows.map((r) => toEntry<T>(r));
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }

  #revision(collection: string, key: string): number {
    const row = this.#db.prepare<[string, string], { revision: number }>("SELECT revision FROM kv WHERE collection = ? AND key = ?").get(collection, key);
    return row?.revision ?? 0;
  }
}

function toEntry<T>(row: Row): Entry<T> {
  return { key: row.key, value: JSON.parse(row.value) as T, revision: row.revision };
}

/** better-sqlite3 is synchronous; the contract is a promise that rejects, never a throw. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
