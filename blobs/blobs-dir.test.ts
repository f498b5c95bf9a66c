import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { blobsContract } from "./blobs.contract.js";
import { DirBlobs } from "./blobs-dir.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-blobdir-"));
blobsContract("a local directory", () => Promise.resolve(new DirBlobs(dir)), () => {
  rmSync(dir, { recursive: true, force: true });
  return Promise.resolve();
});
