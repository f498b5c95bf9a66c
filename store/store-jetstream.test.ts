import assert from "node:assert/strict";
import { describe, it } from "node:test";
import os from "node:os";
import path from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { NatsServer } from "../tools/harness/nats.js";
import { NatsCluster } from "../tools/harness/nats-cluster.js";
import { storeContract } from "./store.contract.js";
import { JetStreamStore } from "./store-jetstream.js";

let nats: NatsServer | undefined;
storeContract(
  "jetstream (real nats-server)",
  async () => {
    nats = await NatsServer.start();
    return JetStreamStore.open({ servers: nats.url, namespace: "t", replicas: 1 });
  },
  async () => nats?.dispose(),
);

describe("jetstream store: two nodes", () => {
  it("two nodes' first use of a new replicated collection at once: every read and write succeeds", async () => {
    // A new R3 bucket has no stream leader for a moment; before the store waited for one, the
    // loser of this race got 503 and a 5 s TIMEOUT (a cold room's first joins were refused).
    const dir = mkdtempSync(path.join(os.tmpdir(), "esh-js-r3-"));
    const cluster = await NatsCluster.start(dir);
    const a = await JetStreamStore.open({ servers: cluster.urls, namespace: "r3", replicas: 3 });
    const b = await JetStreamStore.open({ servers: cluster.urls, namespace: "r3", replicas: 3 });
    try {
      for (const col of ["leases", "log"]) {
        const results = await Promise.allSettled([a.put(col, "k", { v: 1 }, { expect: 0 }), b.put(col, "k2", { v: 2 }, { expect: 0 }), a.get(col, "none"), b.get(col, "none")]);
        assert.deepEqual(results.map((r) => (r.status === "rejected" ? String(r.reason) : "ok")), ["ok", "ok", "ok", "ok"], col);
      }
    } finally {
      await a.close();
      await b.close();
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("one node's writes reach the other's listing (mirror fed by a KV watch)", async () => {
    const server = await NatsServer.start();
    const a = await JetStreamStore.open({ servers: server.url, namespace: "two", replicas: 1 });
    const b = await JetStreamStore.open({ servers: server.url, namespace: "two", replicas: 1 });
    try {
      await a.put("items", "k1", { v: 1 });
      assert.deepEqual((await b.list<{ v: number }>("items")).map((e) => e.value.v), [1]);
      await a.put("items", "k2", { v: 2 });
      await b.delete("items", "k1");
      // No waiting: a list sees every write made before it began, by any node (a node taking
      // over a room must load its whole log, not what its mirror had heard so far).
      assert.deepEqual((await a.list("items")).map((e) => e.key), ["k2"], "a sees b's delete at once");
      assert.deepEqual((await b.list("items")).map((e) => e.key), ["k2"], "b reads its own delete");
      for (let i = 0; i < 50; i++) {
        await a.put("items", `n${String(i).padStart(2, "0")}`, { v: i });
        assert.equal((await b.list("items", "n")).length, i + 1, `write ${i} seen by the other node at once`);
      }
    } finally {
      await a.close();
      await b.close();
      await server.dispose();
    }
  });
});
