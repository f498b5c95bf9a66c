/**
 * Room ownership across nodes, with the rooms actor itself: two brokers in one process over
 * Moleculer's Fake transporter, one store (real sqlite). A room is owned by one node; calls on
 * the other are forwarded to it; when the owner stops, or dies holding its lease, the other node
 * takes the room over (at once, or once the lease expired) and its sequence goes on unbroken.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ServiceBroker, type Context } from "moleculer";
import { DEFAULTS, type AppConfig } from "../../lib/config.js";
import type { CallMeta, Principal } from "../../lib/identity.js";
import { joinAnswerOf, type JoinAnswer, type JoinBatchAnswer, type RoomOut } from "../../protocol/rooms.js";
import { waitFor } from "../../tools/harness/ports.js";
import { SqliteStore } from "../../store/store-sqlite.js";
import type { Store } from "../../store/index.js";
import { roomsService } from "./rooms.service.js";

/** The default lease: a dead owner's rooms must move long before it runs out (liveness.ts). */
const LEASE_MS = DEFAULTS.rooms.leaseTtlMs;
const dir = mkdtempSync(path.join(os.tmpdir(), "esh-rooms-failover-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));
const cfg: AppConfig = { ...DEFAULTS, rooms: { ...DEFAULTS.rooms, leaseTtlMs: LEASE_MS } };
const brokers: ServiceBroker[] = [];
const ann: Principal = { userId: "ann", name: "Ann", role: "viewer", guest: false, sid: "s1", exp: Math.floor(Date.now() / 1000) + 3600 };
const meta: CallMeta = { caller: { kind: "user", principal: ann } };

/** A store that can be cut off: every operation fails once `dead` (a node that died, as the
 *  cluster sees it: it renews nothing and releases nothing), or hangs while `frozen` and goes on
 *  when thawed (a stopped process: SIGSTOP, a long pause; its connections stay open). */
function severable(s: Store): { store: Store; kill(): void; freeze(): void; thaw(): void } {
  let dead = false;
  let thawed: (() => void) | undefined;
  let frozen: Promise<void> | undefined;
  const store = new Proxy(s, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return async (...args: unknown[]) => {
        if (frozen) await frozen;
        if (dead) throw new Error("node is gone");
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    kill: () => (dead = true),
    freeze: () => {
      frozen = new Promise((r) => (thawed = r));
    },
    thaw: () => {
      frozen = undefined;
      thawed?.();
    },
  };
}

/** Who broadcast each chat text (event rooms.out comes from the room's owner). */
const broadcastBy = new Map<string, string>();

async function node(nodeID: string, s: Store = store): Promise<ServiceBroker> {
  const b = new ServiceBroker({ nodeID, namespace: "failover-test", transporter: "Fake", logger: false });
  b.createService(roomsService(cfg, s));
  b.createService({
    name: "gateway", // rooms.out goes to the gateway group
    events: {
      "rooms.out": {
        handler(ctx: Context<RoomOut>) {
          for (const it of ctx.params.items) if (it.kind === "chat") broadcastBy.set(it.text, ctx.nodeID ?? "");
        },
      },
    },
  });
  await b.start();
  brokers.push(b);
  return b;
}

const leaseOwner = async (room: string) => ((await store.get<{ owner: string }>("room_leases", room))?.value.owner);
// With a cid, as the app and the chaos clients send: safe to ask a new owner again.
const chat = (b: ServiceBroker, room: string, text: string) => b.call<{ seq: number }, object>("rooms.chat", { id: room, text, cid: `c-${text}` }, { meta: { ...meta } });
// As a gateway joins for its members: a batch (of one here).
const join = async (b: ServiceBroker, room: string, since?: number): Promise<JoinAnswer> => {
  const ans = await b.call<JoinBatchAnswer, object>("rooms.join", { id: room, members: [{ principal: ann, ...(since === undefined ? {} : { since }) }] });
  const slot = ans.members[0];
  if (!slot || "error" in slot) throw new Error(slot?.error.message ?? "no slot");
  return joinAnswerOf(ans, slot);
};

after(async () => {
  for (const b of brokers) await b.stop().catch(() => undefined);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("rooms across two nodes (Fake transporter)", () => {
  it("one node owns a room, the other forwards to it; a graceful stop hands the room over at once", async () => {
    const a = await node("rooms-a");
    const b = await node("rooms-b");
    await a.call("rooms.create", { id: "r1", ownerId: "host" });
    assert.equal((await chat(a, "r1", "one")).seq, 1);
    assert.equal(await leaseOwner("r1"), "rooms-a");
    assert.equal((await chat(b, "r1", "two")).seq, 2);
    assert.equal(await leaseOwner("r1"), "rooms-a", "b did not take the room while a holds it");
    await waitFor("the chat broadcast", () => broadcastBy.get("two"), 5000, 20);
    assert.equal(broadcastBy.get("two"), "rooms-a", "b forwarded the chat to the owner, which numbered and broadcast it");
    await a.stop();
    const started = Date.now();
    assert.equal((await chat(b, "r1", "three")).seq, 3);
    assert.ok(Date.now() - started < LEASE_MS, "a released its lease: no wait for expiry");
    assert.equal(await leaseOwner("r1"), "rooms-b");
    await waitFor("the chat broadcast", () => broadcastBy.get("three"), 5000, 20);
    assert.equal(broadcastBy.get("three"), "rooms-b", "the new owner broadcasts");
    const j = await join(b, "r1", 0);
    assert.deepEqual(j.events.map((e) => (e.kind === "chat" ? e.text : e.kind)), ["one", "two", "three"]);
  });

  it("a node that dies holding its lease loses the room as soon as its beats stop, long before the lease runs out; the sequence goes on unbroken", async () => {
    const cut = severable(store);
    const c = await node("rooms-c", cut.store);
    const d = await node("rooms-d");
    await c.call("rooms.create", { id: "r2", ownerId: "host" });
    await chat(c, "r2", "before");
    assert.equal(await leaseOwner("r2"), "rooms-c");
    cut.kill(); // c can no longer renew, release or write
    await c.stop().catch(() => undefined);
    const started = Date.now();
    let answer: { seq: number } | undefined;
    while (!answer) {
      answer = await chat(d, "r2", "after").catch((err: unknown) => {
        assert.ok(["UNAVAILABLE", "TIMEOUT"].includes(String((err as { type?: string }).type)) || /not available|not found/i.test(String(err)), String(err));
        return undefined;
      });
      if (!answer) await new Promise((r) => setTimeout(r, 100));
      assert.ok(Date.now() - started < LEASE_MS, "the room moved before the dead owner's lease ran out");
    }
    assert.equal(answer.seq, 2, "numbered after the dead owner's last event");
    assert.equal(await leaseOwner("r2"), "rooms-d");
    const j = await join(d, "r2", 0);
    assert.deepEqual(j.events.map((e) => (e.kind === "chat" ? e.text : e.kind)), ["before", "after"]);
  });

  it("a node that stops answering but stays connected (frozen) loses the room; when it wakes it never numbers the room again", async () => {
    const cut = severable(store);
    const e = await node("rooms-e", cut.store);
    const f = await node("rooms-f");
    await e.call("rooms.create", { id: "r3", ownerId: "host" });
    await chat(e, "r3", "one");
    assert.equal(await leaseOwner("r3"), "rooms-e");
    cut.freeze(); // e's broker still answers the transport; its store calls hang: no beats, no writes
    // A chat sent to f while e is frozen waits for the switch and is then numbered by f.
    const started = Date.now();
    const two = await chat(f, "r3", "two");
    assert.equal(two.seq, 2);
    assert.equal(await leaseOwner("r3"), "rooms-f");
    assert.ok(Date.now() - started < LEASE_MS, "moved before the frozen owner's lease ran out");
    // e wakes: its renewal finds the lease taken and its own numbering is fenced off.
    cut.thaw();
    const late = await chat(e, "r3", "late").catch((err: unknown) => err);
    const three = await chat(f, "r3", "three");
    const events = (await join(f, "r3", 0)).events;
    const seqs = events.map((x) => x.seq);
    assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b), "one event per seq, in order");
    assert.ok(events.some((x) => x.kind === "chat" && x.text === "three" && x.seq === three.seq));
    if (!(late instanceof Error)) assert.ok(events.some((x) => x.kind === "chat" && x.text === "late" && x.seq === (late as { seq: number }).seq), "what e acknowledged is in the log");
  });

  it("a gateway's batch of joins: each member its own slot (a private room's stranger NOT_FOUND, a banned member FORBIDDEN), the others join", async () => {
    const a = await node("rooms-batch");
    await a.call("rooms.create", { id: "priv", ownerId: "host", visibility: "private", grants: ["friend", "pest"] });
    const who = (userId: string, role: Principal["role"] = "viewer"): Principal => ({ ...ann, userId, name: userId, role, sid: `s-${userId}` });
    await a.call("rooms.ban", { id: "priv", userId: "pest" }, { meta: { caller: { kind: "user", principal: who("host", "creator") } } });
    const members = [who("friend"), who("stranger"), who("pest"), who("host", "creator"), who("admin", "admin")].map((principal) => ({ principal }));
    const ans = await a.call<JoinBatchAnswer, object>("rooms.join", { id: "priv", members });
    assert.deepEqual(ans.members.map((m) => ("error" in m ? m.error.code : "joined")), ["joined", "NOT_FOUND", "FORBIDDEN", "joined", "joined"]);
    assert.equal(ans.base.seq, 1, "the ban is the room's first event");
    await assert.rejects(a.call("rooms.join", { id: "priv", members: [{ principal: who("stranger") }] }), (err: { type?: string }) => err.type === "NOT_FOUND", "nobody in the batch may watch: the room is not there for them");
  });
});
