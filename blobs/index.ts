/** The one place a blob store backend is chosen from config. */
import type { AppConfig } from "../lib/config.js";
import { DirBlobs } from "./blobs-dir.js";
import { NatsBlobs } from "./blobs-nats.js";
import type { BlobStore } from "./blobs.js";

export async function openBlobs(cfg: AppConfig): Promise<BlobStore> {
  if (cfg.blobs.backend === "nats") {
    return NatsBlobs.open({ servers: cfg.blobs.natsUrl, bucket: cfg.blobs.bucket, replicas: cfg.blobs.replicas, timeoutMs: cfg.blobs.timeoutMs });
  }
  return new DirBlobs(cfg.dataDir);
}

export { blobPrefixes, deleteStreamObjects, partKey, partRange, retrying, type Blob, type BlobInfo, type BlobStore } from "./blobs.js";
