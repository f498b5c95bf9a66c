import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NatsServer } from "../tools/harness/nats.js";
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
