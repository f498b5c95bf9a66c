/**
 * The recommender engine against real chdb, with a worker-thread TF.js training: personal rows
 * follow planted tastes and honour the filters (no watched, no unplayable items), a new watch
 * changes the next list, cold start serves popular rows, and a restart serves the saved model.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { clientBatch, deviceFrom } from "../../analytics/events.js";
import { ChdbStore } from "../../analytics/store-chdb.js";
import { DEFAULTS, type AppConfig } from "../../lib/config.js";
import { RecEngine, type CatalogEntry } from "./engine.js";
import { FileModelStore } from "./model-store.js";

const NOW = Date.now();
const log = { info: () => undefined, warn: () => undefined };
let dir: string;
let store: ChdbStore;
let cfg: AppConfig;

// 20 ready videos: a0..a9 (music), b0..b9 (gaming); one still processing; one live stream.
const catalog: CatalogEntry[] = [
  ...Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, title: `Music ${i}`, kind: "vod" as const, status: "ready", category: "music", ownerId: "c1" })),
  ...Array.from({ length: 10 }, (_, i) => ({ id: `b${i}`, title: `Game ${i}`, kind: "vod" as const, status: "ready", category: "gaming", ownerId: "c2" })),
  { id: "a-processing", title: "Music soon", kind: "vod", status: "processing", category: "music", ownerId: "c1" },
  { id: "a-live", title: "Music live", kind: "live", status: "live", category: "music", ownerId: "c1" },
];

function watch(user: string, stream: string, at: number, minutes = 5): Buffer {
  const stamp = { userId: user, sessionId: `${user}-s`, node: "t", serverMs: at, device: deviceFrom("Chrome/130") };
  const view = `${user}-${stream}-${at}`;
  return clientBatch([{ id: `${view}-1`, type: "view.start", ts: at, stream, view }, { id: `${view}-2`, type: "view.end", ts: at, stream, view, watched: minutes * 60_000 }], stamp).batch.lines;
}

describe("recommender engine (chdb + TF.js worker)", () => {
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "esh-recs-"));
    store = new ChdbStore(path.join(dir, "analytics"));
    await store.migrate();
    cfg = { ...DEFAULTS, dataDir: dir, recs: { ...DEFAULTS.recs, maxSteps: 300, dim: 8, cacheMs: 60_000 } };
    // 40 music fans watch 5 of a0..a9 (and a-live), 40 gamers 5 of b0..b9.
    const lines: Buffer[] = [];
    for (let u = 0; u < 80; u++) {
      const fan = u < 40 ? "a" : "b";
      for (let k = 0; k < 5; k++) lines.push(watch(`u${u}`, `${fan}${(u + k * 3) % 10}`, NOW - 3_600_000 + k * 60_000));
      if (fan === "a" && u % 2 === 0) lines.push(watch(`u${u}`, "a-live", NOW - 60_000, 2));
    }
    await store.insert("events", Buffer.concat(lines));
  });

  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("trains a version, and personal rows follow the user's taste without watched or unplayable items", async () => {
    const engine = new RecEngine(cfg, store, { local: new FileModelStore(path.join(dir, "models"), 3) }, log);
    await engine.train(catalog);
    assert.equal(engine.version?.version, 1);
    assert.ok(existsSync(path.join(dir, "models", "recs-000001.bin")));
    const r = await engine.recommend("u1", catalog, 5);
    assert.equal(r.personal, true);
    const forYou = r.rows.find((x) => x.reason === "personal")?.items.map((i) => i.id) ?? [];
    assert.equal(forYou.length, 5);
    const watched = new Set([1, 4, 7, 0, 3].map((k) => `a${k}`)); // u1 watched a((1 + 3k) % 10)
    for (const id of forYou) {
      assert.ok(!watched.has(id), `${id} was watched`);
      assert.notEqual(id, "a-processing", "not playable yet");
    }
    assert.ok(forYou.filter((id) => id.startsWith("a")).length >= 4, `a music fan gets music: ${forYou.join(",")}`);
    assert.ok(r.rows.some((x) => x.reason === "similar" && x.title.startsWith("Because you watched")));
    assert.ok(r.rows.some((x) => x.reason === "live" && x.items.some((i) => i.id === "a-live")), "live now for you");
  });

  it("a new watch changes the next list within seconds; cold start is popular rows", async () => {
    const engine = new RecEngine(cfg, store, { local: new FileModelStore(path.join(dir, "models"), 3) }, log);
    assert.equal(await engine.loadLatest(), 1, "a restart serves the saved model at once");
    const before = await engine.recommend("u1", catalog, 10);
    const first = before.rows[0]?.items[0]?.id ?? "";
    assert.ok(first);
    await store.insert("events", watch("u1", first, Date.now()));
    engine.touch("u1");
    const after = await engine.recommend("u1", catalog, 10);
    assert.ok(!after.rows.some((x) => x.reason === "personal" && x.items.some((i) => i.id === first)), `${first} is watched now`);
    // "Not interested": a hidden stream never comes back for that user.
    const next = after.rows.find((x) => x.reason === "personal")?.items[0]?.id ?? "";
    const stamp = { userId: "u1", sessionId: "u1-s", node: "t", serverMs: Date.now(), device: deviceFrom("Chrome/130") };
    await store.insert("events", clientBatch([{ id: "u1-hide-1", type: "hide", ts: Date.now(), stream: next }], stamp).batch.lines);
    engine.touch("u1");
    const hiddenNow = await engine.recommend("u1", catalog, 50);
    assert.ok(!hiddenNow.rows.some((x) => x.items.some((i) => i.id === next)), `${next} is hidden in every row`);
    const cold = await engine.recommend("nobody", catalog, 3);
    assert.equal(cold.personal, false);
    assert.deepEqual(cold.rows.map((x) => x.title), ["Trending", "Popular in music", "Popular in gaming"]);
    assert.equal(cold.rows[0]?.items.length, 3);
    assert.ok(!cold.rows.flatMap((x) => x.items).some((i) => i.id === "a-processing"));
  });

  it("a user who has only hidden something has no history: no personal rows seeded by the hidden item, and it is gone everywhere", async () => {
    const engine = new RecEngine(cfg, store, { local: new FileModelStore(path.join(dir, "models"), 3) }, log);
    await engine.loadLatest();
    const stamp = { userId: "newcomer", sessionId: "n-s", node: "t", serverMs: Date.now(), device: deviceFrom("Chrome/130") };
    await store.insert("events", clientBatch([{ id: "n-hide-1", type: "hide", ts: Date.now(), stream: "a3" }], stamp).batch.lines);
    engine.touch("newcomer");
    const r = await engine.recommend("newcomer", catalog, 50);
    assert.equal(r.personal, false, r.rows.map((x) => x.title).join(", "));
    assert.ok(!r.rows.some((x) => x.title.includes("Music 3") || x.items.some((i) => i.id === "a3")));
  });

  it("an event accepted before a retrain but stored after its read still changes the next list (a reported race)", async () => {
    const engine = new RecEngine(cfg, store, { local: new FileModelStore(path.join(dir, "models"), 3) }, log);
    await engine.train(catalog);
    const first = (await engine.recommend("u3", catalog, 10)).rows.find((x) => x.reason === "personal")?.items[0]?.id ?? "";
    assert.ok(first);
    engine.touch("u3"); // the gateway accepted u3's watch of `first`; it is not in the store yet
    await engine.train(catalog); // the retrain reads the store without it
    await store.insert("events", watch("u3", first, Date.now())); // ...and it lands just after
    const after = await engine.recommend("u3", catalog, 10);
    assert.ok(!after.rows.some((x) => x.reason === "personal" && x.items.some((i) => i.id === first)), `${first} is watched now, and no longer recommended`);
  });
});
