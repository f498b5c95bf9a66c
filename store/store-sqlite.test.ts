import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeContract } from "./store.contract.js";
import { SqliteStore } from "./store-sqlite.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-sqlite-"));
storeContract("sqlite", () => Promise.resolve(new SqliteStore(path.join(dir, "s.sqlite"))), () => {
  rmSync(dir, { recursive: true, force: true });
  return Promise.resolve();
});
