import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NatsServer } from "../tools/harness/nats.js";
import { blobsContract } from "./blobs.contract.js";
import { NatsBlobs } from "./blobs-nats.js";
import { retrying } from "./blobs.js";

let nats: NatsServer | undefined;
blobsContract(
  "NATS JetStream object store (real nats-server)",
  async () => {
    nats = await NatsServer.start();
    return NatsBlobs.open({ servers: nats.url, bucket: "t_media", replicas: 1 });
  },
  async () => nats?.dispose(),
);

describe("NATS blobs: deletions leave nothing behind", () => {
  it("a deleted name leaves no record for listings to read (live segments are never reused)", async () => {
    const server = await NatsServer.start();
    const a = await NatsBlobs.open({ servers: server.url, bucket: "gone", replicas: 1 });
    try {
      for (let i = 0; i < 20; i++) await a.put(`live/s/240p/x_seg_${String(i)}.ts`, Buffer.from("x"));
      for (let i = 0; i < 20; i++) await a.delete(`live/s/240p/x_seg_${String(i)}.ts`);
      const { connect } = await import("nats");
      const nc = await connect({ servers: server.url });
      const info = await (await nc.jetstreamManager()).streams.info("OBJ_gone");
      await nc.close();
      assert.equal(info.state.messages, 0, "no meta or chunk message of a deleted object is left");
      assert.deepEqual(await a.list("live/s/"), []);
    } finally {
      await a.close();
      await server.dispose();
    }
  });
});

describe("NATS blobs: listing while others write and delete", () => {
  it("every list answers while objects are overwritten and deleted at the same time", async () => {
    const server = await NatsServer.start();
    const a = await NatsBlobs.open({ servers: server.url, bucket: "busy", replicas: 1 });
    const b = await NatsBlobs.open({ servers: server.url, bucket: "busy", replicas: 1 });
    try {
      await a.put("live/s/240p/index.m3u8", Buffer.from("v0"));
      const run = { writing: true };
      const churn = (async () => {
        for (let i = 0; run.writing; i++) {
          await a.put("live/s/240p/index.m3u8", Buffer.from(`v${String(i)}`));
          await a.put(`live/s/240p/x_seg_${String(i)}.ts`, Buffer.from("x"));
          if (i > 3) await a.delete(`live/s/240p/x_seg_${String(i - 4)}.ts`);
        }
      })();
      try {
        for (let i = 0; i < 60; i++) {
          const listed = await b.list("live/s/");
          assert.ok(listed.some((x) => x.key === "live/s/240p/index.m3u8"), JSON.stringify(listed));
          const got = await b.get("live/s/240p/index.m3u8");
          assert.match(got?.body.toString() ?? "", /^v\d+$/);
        }
      } finally {
        run.writing = false;
        await churn;
      }
    } finally {
      await a.close();
      await b.close();
      await server.dispose();
    }
  });
});

describe("NATS blobs: the server away", () => {
  it("answers UNAVAILABLE while the server is down, and works again (data intact) once it is back", async () => {
    const server = await NatsServer.start();
    const a = await NatsBlobs.open({ servers: server.url, bucket: "away", replicas: 1, timeoutMs: 1000 });
    const b = await NatsBlobs.open({ servers: server.url, bucket: "away", replicas: 1, timeoutMs: 1000 });
    try {
      await a.put("vod/x/seg_0.ts", Buffer.from("kept"));
      assert.equal((await b.get("vod/x/seg_0.ts"))?.body.toString(), "kept", "another client reads it at once");
      await server.stop();
      await assert.rejects(a.get("vod/x/seg_0.ts"), { type: "UNAVAILABLE", retryable: true });
      await assert.rejects(a.put("vod/x/seg_1.ts", Buffer.from("new")), { type: "UNAVAILABLE" });
      const later = retrying(() => a.put("vod/x/seg_1.ts", Buffer.from("new")), 30_000);
      await new Promise((r) => setTimeout(r, 1500));
      await server.restart();
      await later;
      assert.equal((await b.get("vod/x/seg_0.ts"))?.body.toString(), "kept");
      assert.equal((await b.get("vod/x/seg_1.ts"))?.body.toString(), "new", "a write retried across the outage landed once");
    } finally {
      await a.close();
      await b.close();
      await server.dispose();
    }
  });
});
