/** The one place a store backend is chosen from config. */
import path from "node:path";
import type { AppConfig } from "../lib/config.js";
import { JetStreamStore } from "./store-jetstream.js";
import { SqliteStore } from "./store-sqlite.js";
import type { Store } from "./store.js";

export async function openStore(cfg: AppConfig): Promise<Store> {
  if (cfg.store === "jetstream") {
    return JetStreamStore.open({ servers: cfg.natsUrl, namespace: cfg.namespace, replicas: cfg.storeReplicas, name: `esh-store-${cfg.nodeId}` });
  }
  return new SqliteStore(path.join(cfg.dataDir, "store.sqlite"));
}

export { mustGet } from "./store.js";
export type { Entry, PutOptions, Store } from "./store.js";
