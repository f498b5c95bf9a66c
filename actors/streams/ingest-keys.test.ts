/** Stream keys on the real sqlite store: revealed again, verified by hash, rotated and revoked. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStore } from "../../store/store-sqlite.js";
import { IngestKeys, type IngestKeyRecord } from "./ingest-keys.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-keys-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));
const keys = new IngestKeys(store);

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("IngestKeys", () => {
  it("reveals the same key again, names its stream, and stores only a hash", async () => {
    const k = await keys.reveal("s1");
    assert.match(k, /^s1\.[A-Za-z0-9_-]{32}$/);
    assert.equal(await keys.reveal("s1"), k);
    assert.equal(await keys.verify(k), "s1");
    const rec = (await store.get<IngestKeyRecord>("ingest_keys", "s1"))?.value;
    assert.ok(rec && !JSON.stringify(rec).includes(k.split(".")[1] ?? "?"), "the secret part is not stored");
    // Another instance on the same store (another node) derives the same key.
    assert.equal(await new IngestKeys(store).reveal("s1"), k);
  });

  it("refuses wrong, malformed and other streams' keys", async () => {
    const k = await keys.reveal("s2");
    const other = await keys.reveal("s3");
    for (const bad of ["", ".", "s2.", "s2", `${k}x`, `s3.${k.split(".")[1] ?? ""}`, `../s2.${k.split(".")[1] ?? ""}`, "a".repeat(500)]) assert.equal(await keys.verify(bad), undefined, bad);
    assert.equal(await keys.verify(other), "s3");
  });

  it("rotation: the old key stops at once; revocation: no key until the next rotation", async () => {
    const old = await keys.reveal("s4");
    const fresh = await keys.rotate("s4");
    assert.notEqual(fresh, old);
    assert.equal(await keys.verify(old), undefined);
    assert.equal(await keys.verify(fresh), "s4");
    await keys.revoke("s4");
    assert.equal(await keys.verify(fresh), undefined);
    await assert.rejects(keys.reveal("s4"), (e: { type?: string }) => e.type === "FORBIDDEN");
    const again = await keys.rotate("s4");
    assert.equal(await keys.verify(again), "s4");
    assert.notEqual(again, fresh);
  });
});
