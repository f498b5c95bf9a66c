/**
 * A room as its owner holds it, on the real sqlite store and room log: the sequence and its
 * fence (two owners never number the same event), recovery by `since`, re-sends by `cid`,
 * moderation, and reactions summed per window. No framework: the domain class alone.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { SqliteStore } from "../../store/store-sqlite.js";
import { waitFor } from "../../tools/harness/ports.js";
import { Room, type RoomDeps } from "./room.js";
import { RoomLog } from "./room-log.js";
import { joinAnswerOf, type JoinAnswer, type RoomItem } from "../../protocol/rooms.js";
import type { RoomMeta } from "./room-meta.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-room-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));
const settings = { historySize: 5, chatMaxLength: 50, chatRatePerSec: 1000, chatBurst: 1000, reactionWindowMs: 50, presenceDebounceMs: 50 };
const rooms: Room[] = [];

async function open(id: string, published: RoomItem[][] = []): Promise<Room> {
  const deps: RoomDeps = { store, log: new RoomLog(store, 100), settings, publish: (_room, items) => void published.push(items) };
  const r = await Room.load(id, deps);
  rooms.push(r);
  return r;
}

/** One member's join, as a gateway's batch of one gives it (an error slot throws). */
function join(r: Room, userId: string, since: number | undefined): JoinAnswer {
  const b = r.join([{ userId, since }]);
  const slot = b.members[0];
  if (!slot || "error" in slot) throw new Error(slot?.error.message ?? "no slot");
  return joinAnswerOf(b, slot);
}

async function newRoom(id: string, extra: Partial<RoomMeta> = {}): Promise<void> {
  const now = Date.now();
  await store.put("rooms", id, { id, ownerId: "owner", chatEnabled: true, slowModeSec: 0, createdAt: now, updatedAt: now, ...extra } satisfies RoomMeta, { expect: 0 });
}

const ann = { id: "ann", name: "Ann" };

before(async () => {
  await newRoom("r1");
  await newRoom("r2");
  await newRoom("r3");
});

after(async () => {
  for (const r of rooms) r.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Room", () => {
  it("numbers events in order, and a second owner cannot number the same event (the fence)", async () => {
    const a = await open("r1");
    const seqs = await Promise.all([1, 2, 3].map((i) => a.chat(ann, `m${i}`)));
    assert.deepEqual(seqs.map((e) => e.seq), [1, 2, 3]);
    const b = await open("r1"); // a new owner loads the log...
    assert.equal(b.seq, 3);
    await b.chat(ann, "from b"); // ...and writes seq 4
    await assert.rejects(a.chat(ann, "stale owner"), (err: { type?: string }) => err.type === "CONFLICT");
  });

  it("answers a join with what was missed since a seq, or a reset when it cannot", async () => {
    const r = await open("r2");
    for (let i = 1; i <= 8; i++) await r.chat(ann, `n${i}`);
    assert.deepEqual(join(r, "x", 6).events.map((e) => e.seq), [7, 8]);
    assert.equal(join(r, "x", 8).events.length, 0);
    assert.equal(join(r, "x", 99).reset, "ahead");
    assert.equal(join(r, "x", 1).reset, "behind", "older than the 5 events kept");
    assert.equal(join(r, "x", 3).reset, undefined, "the event just before the oldest kept: nothing missed");
    assert.deepEqual(join(r, "x", 3).events.map((e) => e.seq), [4, 5, 6, 7, 8]);
    assert.deepEqual(join(r, "x", undefined).events.map((e) => e.seq), [4, 5, 6, 7, 8]);
    // A batch: the room once, each member's own slot, in order.
    const b = r.join([{ userId: "a", since: 7 }, { userId: "b" }, { userId: "c", since: 99 }]);
    assert.equal(b.base.seq, 8);
    assert.deepEqual(b.members, [{ from: 4 }, { from: 0 }, { from: 0, reset: "ahead" }]);
  });

  it("stores a re-sent chat (same cid) once, even when both copies race", async () => {
    const r = await open("r3");
    const [first, second] = await Promise.all([r.chat(ann, "once", "c-1"), r.chat(ann, "once", "c-1")]);
    assert.equal(first.seq, second.seq);
    assert.equal(join(r, "x", undefined).events.filter((e) => e.kind === "chat").length, 1);
    const other = await r.chat({ id: "bob", name: "Bob" }, "mine", "c-1"); // cids are per sender
    assert.notEqual(other.seq, first.seq);
  });

  it("moderation: bans refuse joins and chat; mutes, closed chat and bad messages are refused", async () => {
    await newRoom("m1");
    const r = await open("m1");
    await r.ban("troll");
    assert.throws(() => join(r, "troll", undefined), /banned/);
    assert.deepEqual(r.join([{ userId: "troll" }, { userId: "fan" }]).members.map((m) => "error" in m), [true, false], "one banned member does not refuse the batch");
    await assert.rejects(r.chat({ id: "troll", name: "T" }, "hi"), /banned/);
    await r.mute("loud", 60);
    await assert.rejects(r.chat({ id: "loud", name: "L" }, "hi"), (err: { data?: { mutedUntil?: number } }) => (err.data?.mutedUntil ?? 0) > Date.now());
    r.settingsChanged({ ...((await store.get<RoomMeta>("rooms", "m1"))?.value as RoomMeta), chatEnabled: false });
    await assert.rejects(r.chat(ann, "hi"), /Chat is off/);
    await assert.rejects(r.chat(ann, "x".repeat(51)), /at most 50/);
    await assert.rejects(r.chat(ann, "   "), /Empty/);
  });

  it("sums reactions per window into one item, and refuses unknown ones", async () => {
    await newRoom("re1");
    const published: RoomItem[][] = [];
    const r = await open("re1", published);
    for (let i = 0; i < 30; i++) r.react({ "👍": 1 });
    r.react({ "🔥": 5 });
    assert.throws(() => r.react({ "💩": 1 }), /Unknown reaction/);
    assert.throws(() => r.react({ "👍": 0 }), /positive integers/);
    await new Promise((res) => setTimeout(res, 120));
    const sums = published.flat().filter((i) => i.kind === "reactions");
    assert.equal(sums.length, 1, "one item for the window, not 31");
    assert.deepEqual(sums[0]?.kind === "reactions" ? sums[0].counts : undefined, { "👍": 30, "🔥": 5 });
  });

  it("sends a small room's presence every debounce, a big room's at most once per debounce per 1,000 members", async () => {
    await newRoom("pr1");
    const published: RoomItem[][] = [];
    const r = await open("pr1", published);
    const sent = new Map<number, number>(); // count -> when it was first seen published
    const seen = setInterval(() => {
      for (const i of published.flat()) if (i.kind === "presence" && !sent.has(i.count)) sent.set(i.count, performance.now());
    }, 5);
    after(() => clearInterval(seen));
    const until = (count: number) => waitFor(`presence ${String(count)} sent`, () => sent.get(count), 3000, 10);
    r.presence("gw", 10, []);
    const t10 = await until(10);
    r.presence("gw", 11, []);
    assert.ok((await until(11)) - t10 < 400, "a small room: the next change within a debounce or so (50 ms here)");
    r.presence("gw", 10_000, []);
    const big = await until(10_000);
    r.presence("gw", 10_001, []);
    assert.ok((await until(10_001)) - big >= 540, "10,001 members: 11 × 50 ms after the last");
  });
});
