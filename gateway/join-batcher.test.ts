/**
 * The gateway's join batching: the joins of one turn go as one call, joins that arrive while a
 * room's calls are on their way wait for the next, each joiner gets its own slot of the answer,
 * a refused slot fails only its joiner, a failed call fails its batch, and `pending`/`rate`
 * (what admission sheds on) follow. The rooms actor's side (Room.join) is tested in
 * actors/rooms/room.test.ts and end to end in test/rooms.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Principal } from "../lib/identity.js";
import type { JoinAnswer, JoinBatchAnswer, RoomEvent } from "../protocol/rooms.js";
import { JoinBatcher, type Joiner } from "./join-batcher.js";

const who = (userId: string): Principal => ({ userId, name: userId, role: "viewer", guest: true, sid: `s-${userId}`, exp: 2e9 });
const history: RoomEvent[] = [1, 2, 3].map((seq) => ({ seq, ts: seq, kind: "chat", user: { id: "u", name: "u" }, text: `m${String(seq)}` }));
const answer = (members: Joiner[]): JoinBatchAnswer => ({
  base: { seq: 3, polls: [], presence: { count: 0, sample: [] }, slowModeSec: 0, chatEnabled: true },
  history,
  members: members.map((m) => (m.principal.userId === "banned" ? { error: { code: "FORBIDDEN", message: "You are banned from this room" } } : { from: m.since ?? 0 })),
});

/** A rooms actor stand-in whose calls answer when the test says. */
function owner() {
  const calls: { room: string; members: Joiner[]; release(fail?: Error): void }[] = [];
  const call = (room: string, members: Joiner[]) =>
    new Promise<JoinBatchAnswer>((resolve, reject) => calls.push({ room, members, release: (fail) => (fail ? reject(fail) : resolve(answer(members))) }));
  return { calls, call };
}
const turn = () => new Promise((r) => setImmediate(r));

describe("JoinBatcher", () => {
  it("sends one turn's joins of a room as one call; each joiner gets its own events", async () => {
    const o = owner();
    const b = new JoinBatcher({ maxBatch: 500, call: o.call });
    const joins = [b.join("r", { principal: who("a") }), b.join("r", { principal: who("b"), since: 2 }), b.join("other", { principal: who("c") })];
    await turn();
    assert.deepEqual(o.calls.map((c) => [c.room, c.members.length]), [["r", 2], ["other", 1]]);
    assert.equal(b.pending, 3);
    for (const c of o.calls) c.release();
    const [a, bb] = (await Promise.all(joins)) as [JoinAnswer, JoinAnswer, JoinAnswer];
    assert.deepEqual(a.events.map((e) => e.seq), [1, 2, 3]);
    assert.deepEqual(bb.events.map((e) => e.seq), [3], "only what it missed");
    assert.equal(bb.seq, 3);
    assert.equal(b.pending, 0);
    assert.ok(b.rate > 0);
  });

  it("gathers the joins that arrive while the room's calls are on their way into the next call", async () => {
    const o = owner();
    const b = new JoinBatcher({ maxBatch: 500, inFlight: 1, call: o.call });
    const first = b.join("r", { principal: who("a") });
    await turn();
    const later = Array.from({ length: 5 }, (_, i) => b.join("r", { principal: who(`l${String(i)}`) }));
    await turn();
    assert.equal(o.calls.length, 1, "the second waits for the first");
    o.calls[0]?.release();
    await first;
    await turn();
    assert.deepEqual(o.calls.map((c) => c.members.length), [1, 5]);
    o.calls[1]?.release();
    assert.equal((await Promise.all(later)).length, 5);
  });

  it("splits a batch at maxBatch; maxBatch 1 sends every join as its own call at once", async () => {
    const o = owner();
    const b = new JoinBatcher({ maxBatch: 2, inFlight: 8, call: o.call });
    const all = Array.from({ length: 5 }, (_, i) => b.join("r", { principal: who(`u${String(i)}`) }));
    await turn();
    assert.deepEqual(o.calls.map((c) => c.members.length), [2, 2, 1]);
    for (const c of o.calls) c.release();
    await Promise.all(all);

    const one = owner();
    const unbatched = new JoinBatcher({ maxBatch: 1, call: one.call });
    const each = Array.from({ length: 4 }, (_, i) => unbatched.join("r", { principal: who(`u${String(i)}`) }));
    await turn();
    assert.equal(one.calls.length, 4);
    for (const c of one.calls) c.release();
    await Promise.all(each);
  });

  it("a refused slot fails only its joiner, with its code; a failed call fails its whole batch", async () => {
    const o = owner();
    const b = new JoinBatcher({ maxBatch: 500, call: o.call });
    const banned = b.join("r", { principal: who("banned") });
    const fan = b.join("r", { principal: who("fan") });
    await turn();
    o.calls[0]?.release();
    await assert.rejects(banned, (err: { type?: string }) => err.type === "FORBIDDEN");
    assert.equal((await fan).seq, 3);

    const failing = [b.join("r", { principal: who("x") }), b.join("r", { principal: who("y") })];
    await turn();
    o.calls[1]?.release(new Error("owner gone"));
    for (const p of failing) await assert.rejects(p, /owner gone/);
    assert.equal(b.pending, 0);
  });

  it("an answer of another shape (an older rooms node, a bug) fails its joiners, never the gateway", async () => {
    const b = new JoinBatcher({ maxBatch: 500, call: () => Promise.resolve({ seq: 3, events: [] } as unknown as JoinBatchAnswer) });
    const joins = [b.join("r", { principal: who("a") }), b.join("r", { principal: who("b") })];
    for (const p of joins) await assert.rejects(p, (err: { type?: string }) => err.type === "INTERNAL");
    assert.equal(b.pending, 0);
  });

  it("drops joiners whose socket closed while they waited; counts the joins answered in the last second", async () => {
    const o = owner();
    const b = new JoinBatcher({ maxBatch: 500, inFlight: 1, call: o.call });
    const first = b.join("r", { principal: who("a") });
    await turn();
    let closed = false;
    const left = b.join("r", { principal: who("leaver"), gone: () => closed });
    const stays = b.join("r", { principal: who("stays") });
    closed = true;
    o.calls[0]?.release();
    await first;
    await assert.rejects(left, (err: { type?: string }) => err.type === "CONFLICT");
    await turn();
    assert.deepEqual(o.calls[1]?.members.map((m) => m.principal.userId), ["stays"], "the closed one was not sent");
    o.calls[1].release();
    await stays;
    assert.equal(b.rate, 2, "two joins answered within the last second");
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(b.rate, 0, "and none in the second after");
  });
});
