/**
 * Catalog search with the streams actor itself on two nodes (Moleculer's Fake transporter, one
 * real sqlite store, the real rooms actor): a write on one node is found on the other, a rename
 * replaces the old words, a removal or an ended show leaves, private and unlisted streams are never
 * found, and a node started later builds its index from the store.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ServiceBroker } from "moleculer";
import { DEFAULTS } from "../../lib/config.js";
import type { CallMeta, Principal } from "../../lib/identity.js";
import { waitFor } from "../../tools/harness/ports.js";
import { SqliteStore } from "../../store/store-sqlite.js";
import { DirBlobs } from "../../blobs/blobs-dir.js";
import { roomsService } from "../rooms/rooms.service.js";
import { streamsService, type Stream } from "./streams.service.js";
import type { SearchAnswer } from "../../protocol/search.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-search-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));
const blobs = new DirBlobs(path.join(dir, "blobs"));
const brokers: ServiceBroker[] = [];
const cat: Principal = { userId: "cat", name: "catherine", role: "creator", guest: false, sid: "s1", exp: Math.floor(Date.now() / 1000) + 3600 };
const meta: CallMeta = { caller: { kind: "user", principal: cat } };

async function node(nodeID: string): Promise<ServiceBroker> {
  const b = new ServiceBroker({ nodeID, namespace: "search-test", transporter: "Fake", logger: false });
  b.createService(roomsService(DEFAULTS, store));
  b.createService(streamsService(store, DEFAULTS, blobs));
  await b.start();
  brokers.push(b);
  // Over the Fake transporter a node started earlier does not hear of a later one by itself: ask.
  const up = brokers.filter((x) => x.started);
  await waitFor(`${nodeID} known to every node`, async () => {
    // registry.discoverer is missing from moleculer's typings.
    const reg = (x: ServiceBroker) => x.registry as unknown as { discoverer: { discoverAllNodes(): Promise<void> }; nodes: { has(id: string): boolean } };
    for (const x of up) await reg(x).discoverer.discoverAllNodes();
    return up.every((x) => up.every((y) => reg(x).nodes.has(y.nodeID)));
  }, 5000);
  return b;
}

/** Asks that node's own index (a call would be balanced between nodes). */
const find = (b: ServiceBroker, params: object) => b.call<SearchAnswer<Stream>, object>("streams.search", params, { meta, nodeID: b.nodeID });
const ids = async (b: ServiceBroker, params: object) => (await find(b, params)).items.map((s) => s.id);

async function ready(b: ServiceBroker, fields: object): Promise<Stream> {
  const s = await b.call<Stream, object>("streams.create", { kind: "vod", ...fields }, { meta });
  await b.call("streams.setStatus", { id: s.id, status: "processing" });
  return b.call<Stream, object>("streams.setStatus", { id: s.id, status: "ready", durationSec: 12 });
}

after(async () => {
  for (const b of brokers) await b.stop().catch(() => undefined);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("streams.search across nodes", () => {
  it("finds on one node what was written on another, follows renames and removals, never lists what is not public and watchable", async () => {
    const [a, b] = [await node("a"), await node("b")];
    const jazz = await ready(a, { title: "Late night jazz piano", category: "music", language: "fr" });
    const secret = await ready(a, { title: "Jazz rehearsal (private)", visibility: "private" });
    const hidden = await ready(a, { title: "Jazz outtakes", visibility: "unlisted" });
    const draft = await a.call<Stream, object>("streams.create", { kind: "vod", title: "Jazz draft" }, { meta });
    await waitFor("the other node indexed the new video", async () => (await ids(b, { q: "jazz" })).includes(jazz.id), 5000);
    assert.deepEqual(await ids(b, { q: "jaz" }), [jazz.id]); // not the private, unlisted or unfinished ones
    assert.deepEqual(await ids(b, { q: "pinao" }), [jazz.id]); // a typo
    assert.deepEqual(await ids(b, { q: "catherine" }), [jazz.id]); // the creator
    const found = await find(b, { q: "jazz", category: "music", language: "fr", kind: "vod" });
    assert.equal(found.total, 1);
    assert.equal(found.items[0]?.durationSec, 12);
    assert.deepEqual(found.facets.category, { music: 1 });
    for (const s of [secret, hidden, draft]) assert.ok(!(await ids(b, {})).includes(s.id));

    await b.call("streams.update", { id: jazz.id, title: "Morning bossa nova" }, { meta });
    await waitFor("the rename reached the first node", async () => (await ids(a, { q: "bossa" })).includes(jazz.id), 5000);
    assert.deepEqual(await ids(a, { q: "jazz" }), []);

    const c = await node("c"); // started later: builds its index from the store
    assert.deepEqual(await ids(c, { q: "bossa" }), [jazz.id]);

    await a.call("streams.remove", { id: jazz.id }, { meta });
    await waitFor("the removal reached every node", async () => (await ids(b, { q: "bossa" })).length === 0 && (await ids(c, { q: "bossa" })).length === 0, 5000);
  });

  it("refuses bad parameters with a typed error", async () => {
    const b = brokers[0] ?? (await node("d"));
    for (const bad of [{ limit: 0 }, { limit: 51 }, { offset: 1001 }, { kind: "radio" }, { category: "Not A Category" }, { q: "x".repeat(201) }]) {
      await assert.rejects(find(b, bad), (err: Error & { code?: unknown; type?: string }) => err.name === "ValidationError", JSON.stringify(bad));
    }
  });
});
