/**
 * Live rooms on the embedded platform: chat with sequence numbers, history and recovery,
 * reactions summed per window, polls, presence and moderation, over real WebSockets.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { WsClient, type Frame } from "../tools/harness/ws-client.js";

let node: PlatformNode;
let creator: { accessToken: string; user: { id: string } };
let roomId: string;

type Item = { kind: string; seq?: number; [k: string]: unknown };
const items = (c: WsClient, room = roomId): Item[] => c.frames.filter((f) => f.t === "room" && (f.d as { room: string }).room === room).flatMap((f) => (f.d as { items: Item[] }).items);
const errCode = (f: Frame) => (f.t === "error" ? (f.d as { code: string }).code : undefined);

async function user(name: string, role?: string) {
  const r = await api(node.url, "POST", "/api/auth/register", { username: name, password: "correct horse battery", ...(role ? { role } : {}) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as unknown as { accessToken: string; user: { id: string } };
}

async function joined(token: string, since?: number) {
  const c = await WsClient.connect(node.wsUrl, { token });
  const ans = await c.request("room.join", since === undefined ? { room: roomId } : { room: roomId, since });
  assert.equal(ans.t, "ok", JSON.stringify(ans));
  return { c, ans: ans.d as { seq: number; events: Item[]; reset?: string; presence: { count: number } } };
}

before(async () => {
  node = await PlatformNode.start({ env: { ESH_ROOMS_CHAT_RATE_PER_SEC: "5", ESH_ROOMS_CHAT_BURST: "5", ESH_ROOMS_HISTORY_SIZE: "20", ESH_GATEWAY_AUTH_BURST_PER_IP: "200" } });
  creator = await user("host", "creator");
  const s = await api(node.url, "POST", "/api/streams", { title: "Live show", kind: "live" }, creator.accessToken);
  roomId = s.body.id as string;
});

after(async () => {
  await node.stop();
});

describe("rooms: chat, history, recovery", () => {
  it("chat messages get increasing seqs and reach every member in the same order", async () => {
    const a = await joined((await user("ann")).accessToken);
    const b = await joined((await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string);
    const acks = [];
    for (let i = 0; i < 3; i++) acks.push(await a.c.request("room.chat", { room: roomId, text: `hello ${i}` }));
    const seqs = acks.map((f) => (f.d as { seq: number }).seq);
    assert.deepEqual(seqs, [seqs[0], seqs[0]! + 1, seqs[0]! + 2]);
    const gb = await b.c.request("room.chat", { room: roomId, text: "guest here" });
    assert.equal(gb.t, "ok", "guests may chat");
    await waitFor("4 chats at both", () => (items(a.c).filter((i) => i.kind === "chat").length >= 4 && items(b.c).filter((i) => i.kind === "chat").length >= 4) || undefined);
    const order = (c: WsClient) => items(c).filter((i) => i.kind === "chat").map((i) => i.seq);
    assert.deepEqual(order(a.c), order(b.c));
    a.c.close();
    b.c.close();
  });

  it("a re-sent chat with the same cid is stored once, even when both copies race", async () => {
    const bob = await user("bob-cid");
    const a = await joined(bob.accessToken);
    const [first, racing] = await Promise.all([a.c.request("room.chat", { room: roomId, text: "once", cid: "m-1" }), a.c.request("room.chat", { room: roomId, text: "once", cid: "m-1" })]);
    const again = await a.c.request("room.chat", { room: roomId, text: "once", cid: "m-1" });
    const seq = (first.d as { seq: number }).seq;
    assert.equal((racing.d as { seq: number }).seq, seq);
    assert.equal((again.d as { seq: number }).seq, seq);
    const other = await a.c.request("room.chat", { room: roomId, text: "twice", cid: "m-2" });
    assert.equal((other.d as { seq: number }).seq, seq + 1, "a new cid is a new message");
    const check = await joined(bob.accessToken);
    assert.equal(check.ans.events.filter((e) => e.kind === "chat" && e.cid === "m-1").length, 1);
    assert.equal(errCode(await a.c.request("room.chat", { room: roomId, text: "x", cid: "y".repeat(65) })), "BAD_REQUEST");
    a.c.close();
    check.c.close();
  });

  it("a reconnect with its last seq gets exactly what it missed; too old or future seqs get a reset", async () => {
    const t = await user("cara");
    const first = await joined(t.accessToken);
    const last = first.ans.seq;
    first.c.close();
    const writer = await joined(t.accessToken);
    for (let i = 0; i < 3; i++) await writer.c.request("room.chat", { room: roomId, text: `while away ${i}` });
    const back = await joined(t.accessToken, last);
    assert.equal(back.ans.reset, undefined);
    assert.deepEqual(back.ans.events.map((e) => e.seq), [last + 1, last + 2, last + 3]);
    const future = await joined(t.accessToken, back.ans.seq + 100);
    assert.equal(future.ans.reset, "ahead");
    // Push the window past the first seqs (history keeps 20 here).
    const w2 = await user("filler");
    const f = await joined(w2.accessToken);
    for (let i = 0; i < 25; i++) {
      const r = await f.c.request("room.chat", { room: roomId, text: `filler ${i}` });
      if (errCode(r) === "RATE_LIMITED") await new Promise((res) => setTimeout(res, 250));
    }
    const ancient = await joined(t.accessToken, 1);
    assert.equal(ancient.ans.reset, "behind");
    assert.ok(ancient.ans.events.length <= 20);
    for (const c of [writer.c, back.c, future.c, f.c, ancient.c]) c.close();
  });

  it("rejects empty, overlong and too fast chat, and chat outside a joined room", async () => {
    const t = await user("dan");
    const { c } = await joined(t.accessToken);
    assert.equal(errCode(await c.request("room.chat", { room: roomId, text: "x".repeat(600) })), "BAD_REQUEST");
    assert.equal(errCode(await c.request("room.chat", { room: roomId, text: "   " })), "BAD_REQUEST");
    assert.equal(errCode(await c.request("room.chat", { room: "elsewhere", text: "hi" })), "BAD_REQUEST");
    const results = [];
    for (let i = 0; i < 10; i++) results.push(errCode(await c.request("room.chat", { room: roomId, text: `spam ${i}` })));
    assert.ok(results.includes("RATE_LIMITED"), JSON.stringify(results));
    c.close();
  });
});

describe("rooms: reactions and presence", () => {
  it("reactions are summed per window: many reactions, few frames", async () => {
    const t = await user("eve");
    const { c } = await joined(t.accessToken);
    for (let i = 0; i < 40; i++) c.send("room.react", { room: roomId, emoji: "🔥" });
    await waitFor("reaction totals", () => {
      const total = items(c).filter((i) => i.kind === "reactions").reduce((n, i) => n + ((i.counts as Record<string, number>)["🔥"] ?? 0), 0);
      return total >= 40 || undefined;
    });
    const frames = items(c).filter((i) => i.kind === "reactions").length;
    assert.ok(frames < 10, `${frames} reaction frames for 40 reactions`);
    assert.equal(errCode(await c.request("room.react", { room: roomId, emoji: "💩" })), "BAD_REQUEST");
    c.close();
  });

  it("presence counts the audience and drops leavers", async () => {
    const a = await joined((await user("fay")).accessToken);
    const b = await joined((await user("gus")).accessToken);
    await waitFor("count >= 2", () => (items(a.c).filter((i) => i.kind === "presence").some((i) => (i.count as number) >= 2)) || undefined);
    const before = (items(a.c).filter((i) => i.kind === "presence").at(-1)?.count as number);
    b.c.close();
    await waitFor("count drops", () => ((items(a.c).filter((i) => i.kind === "presence").at(-1)?.count as number) < before) || undefined);
    a.c.close();
  });
});

describe("rooms: polls", () => {
  it("creator opens a poll; viewers vote once; tallies go live; closed polls refuse votes", async () => {
    const host = await joined(creator.accessToken);
    const v = await joined((await user("hal")).accessToken);
    const g = await joined((await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string);
    const opened = await host.c.request("room.poll.create", { room: roomId, question: "Best?", options: ["A", "B"] });
    assert.equal(opened.t, "ok", JSON.stringify(opened));
    const pollId = ((opened.d as { poll: { id: string } }).poll).id;
    assert.equal(errCode(await v.c.request("room.poll.create", { room: roomId, question: "Mine?", options: ["x", "y"] })), "FORBIDDEN");
    const vote = await v.c.request("room.vote", { room: roomId, pollId, option: 1 });
    assert.deepEqual((vote.d as { counts: number[] }).counts, [0, 1]);
    assert.equal(errCode(await v.c.request("room.vote", { room: roomId, pollId, option: 0 })), "CONFLICT", "votes are final");
    assert.equal(errCode(await g.c.request("room.vote", { room: roomId, pollId, option: 0 })), "FORBIDDEN", "guests do not vote");
    assert.equal(errCode(await v.c.request("room.vote", { room: roomId, pollId: "nope", option: 0 })), "NOT_FOUND");
    await waitFor("tally", () => items(host.c).some((i) => i.kind === "poll.tally") || undefined);
    const closed = await host.c.request("room.poll.close", { room: roomId, pollId });
    assert.deepEqual(((closed.d as { poll: { counts: number[]; open: boolean } }).poll), { id: pollId, question: "Best?", options: ["A", "B"], open: false, counts: [0, 1], votes: 1 });
    const late = await joined((await user("ida")).accessToken);
    assert.equal(errCode(await late.c.request("room.vote", { room: roomId, pollId, option: 0 })), "CONFLICT");
    for (const x of [host, v, g, late]) x.c.close();
  });
});

describe("rooms: moderation", () => {
  it("viewers cannot moderate; the creator deletes, mutes and bans (kick + refused re-join)", async () => {
    const host = await joined(creator.accessToken);
    const troll = await user("troll");
    const t = await joined(troll.accessToken);
    const msg = await t.c.request("room.chat", { room: roomId, text: "bad words" });
    const seq = (msg.d as { seq: number }).seq;
    assert.equal(errCode(await t.c.request("room.delete", { room: roomId, seq })), "FORBIDDEN");
    assert.equal(errCode(await t.c.request("room.ban", { room: roomId, userId: creator.user.id })), "FORBIDDEN");
    assert.equal((await host.c.request("room.delete", { room: roomId, seq })).t, "ok");
    await waitFor("deleted event", () => items(t.c).some((i) => i.kind === "deleted" && i.target === seq) || undefined);
    assert.equal((await host.c.request("room.mute", { room: roomId, userId: troll.user.id, seconds: 60 })).t, "ok");
    assert.equal(errCode(await t.c.request("room.chat", { room: roomId, text: "still here" })), "FORBIDDEN");
    assert.equal((await host.c.request("room.ban", { room: roomId, userId: troll.user.id })).t, "ok");
    await t.c.next((f) => f.t === "room.kicked");
    const again = await t.c.request("room.join", { room: roomId });
    assert.equal(errCode(again), "FORBIDDEN");
    host.c.close();
    t.c.close();
  });

  it("joining an unknown room is NOT_FOUND", async () => {
    const c = await WsClient.connect(node.wsUrl, { token: creator.accessToken });
    assert.equal(errCode(await c.request("room.join", { room: "no-such-room" })), "NOT_FOUND");
    c.close();
  });
});

describe("rooms: idle rooms are unloaded and come back from the store", () => {
  it("a room nobody is in is unloaded; the next join reloads its history", async () => {
    const n = await PlatformNode.start({ env: { ESH_ROOMS_IDLE_UNLOAD_MS: "1000", ESH_ROOMS_LEASE_TTL_MS: "3000" } });
    try {
      const reg = await api(n.url, "POST", "/api/auth/register", { username: "idlehost", password: "correct horse battery", role: "creator" });
      const token = reg.body.accessToken as string;
      const id = (await api(n.url, "POST", "/api/streams", { title: "quiet", kind: "live" }, token)).body.id as string;
      const c = await WsClient.connect(n.wsUrl, { token });
      await c.request("room.join", { room: id });
      const sent = await c.request("room.chat", { room: id, text: "remember me" });
      c.close();
      await waitFor("the idle room to be unloaded", () => n.output.includes(`unloading idle room ${id}`) || undefined, 15_000);
      const again = await WsClient.connect(n.wsUrl, { token });
      const ans = await again.request("room.join", { room: id });
      const events = (ans.d as { events: Item[] }).events;
      assert.deepEqual(events.map((e) => e.seq), [(sent.d as { seq: number }).seq]);
      const next = await again.request("room.chat", { room: id, text: "and continue" });
      assert.equal((next.d as { seq: number }).seq, 2, "the sequence continues after a reload");
      again.close();
    } finally {
      await n.stop();
    }
  });
});
