/**
 * Rooms across a real NATS cluster of nodes: two gateways, two rooms nodes (JetStream store).
 * Same messages in the same order on both gateways; kill -9 of a gateway loses nothing for its
 * reconnecting clients; kill -9 of the room's owner moves the room, the sequence continues and
 * no acknowledged message is lost.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { WsClient } from "../tools/harness/ws-client.js";

const FAST = { ESH_BROKER_HEARTBEAT_INTERVAL_SEC: "1", ESH_BROKER_HEARTBEAT_TIMEOUT_SEC: "3", ESH_BROKER_REQUEST_TIMEOUT_MS: "3000", ESH_ROOMS_LEASE_TTL_MS: "3000", ESH_ROOMS_CHAT_RATE_PER_SEC: "100", ESH_ROOMS_CHAT_BURST: "100", ESH_GATEWAY_AUTH_BURST_PER_IP: "200" };

let nats: NatsServer;
const nodes: PlatformNode[] = [];
let gwA: PlatformNode;
let gwB: PlatformNode;
let roomId: string;
let token: string;

type Item = { kind: string; seq?: number; text?: string };
const chats = (c: WsClient): Item[] => c.frames.filter((f) => f.t === "room").flatMap((f) => (f.d as { items: Item[] }).items).filter((i) => i.kind === "chat");

async function start(services: string, id: string): Promise<PlatformNode> {
  const n = await PlatformNode.start({ services, natsUrl: nats.url, env: { ...FAST, NODE_ID: id } });
  nodes.push(n);
  return n;
}

async function join(url: string, since?: number): Promise<{ c: WsClient; seq: number; events: Item[] }> {
  const c = await WsClient.connect(url, { token });
  const r = await c.request("room.join", since === undefined ? { room: roomId } : { room: roomId, since }).catch((err: unknown) => {
    // Seen once in a full run (not reproduced since): keep what the nodes said for next time.
    throw new Error(`${String(err)}\n${nodes.map((n) => n.output.split("\n").filter((l) => /"level":"(warn|error)"/.test(l)).slice(-10).join("\n")).join("\n---\n")}`, { cause: err });
  });
  assert.equal(r.t, "ok", JSON.stringify(r));
  const d = r.d as { seq: number; events: Item[] };
  return { c, seq: d.seq, events: d.events };
}

/** Sends chats, retrying UNAVAILABLE/TIMEOUT (a room moving); returns the acked seqs. */
async function chatAll(c: WsClient, texts: string[]): Promise<number[]> {
  const seqs: number[] = [];
  for (const text of texts) {
    for (;;) {
      const r = await c.request("room.chat", { room: roomId, text }, 10_000);
      if (r.t === "ok") {
        seqs.push((r.d as { seq: number }).seq);
        break;
      }
      const code = (r.d as { code: string }).code;
      if (!["UNAVAILABLE", "TIMEOUT"].includes(code)) throw new Error(`chat failed: ${JSON.stringify(r.d)}\n${nodes.map((n) => n.output.split("\n").filter((l) => /ERROR|WARN/.test(l)).slice(-8).join("\n")).join("\n---\n")}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }
  return seqs;
}

before(async () => {
  nats = await NatsServer.start();
  await start("sessions,streams,rooms", "actors-1");
  await start("rooms", "rooms-2");
  gwA = await start("gateway", "gateway-a");
  gwB = await start("gateway", "gateway-b");
  await waitFor("discovery", () => nodes.every((n) => ["gateway-a", "gateway-b"].every((g) => n === gwA || n === gwB || n.output.includes(`Node '${g}' connected`))) || undefined);
  const reg = await api(gwA.url, "POST", "/api/auth/register", { username: "host", password: "correct horse battery", role: "creator" });
  token = reg.body.accessToken as string;
  roomId = (await api(gwA.url, "POST", "/api/streams", { title: "cluster show", kind: "live" }, token)).body.id as string;
});

after(async () => {
  for (const n of nodes) await n.stop("SIGKILL");
  await nats.dispose();
});

describe("rooms across nodes", () => {
  it("clients on two gateways see the same messages in the same order", async () => {
    const a = await join(gwA.wsUrl);
    const b = await join(gwB.wsUrl);
    await Promise.all([chatAll(a.c, ["a1", "a2", "a3", "a4", "a5"]), chatAll(b.c, ["b1", "b2", "b3", "b4", "b5"])]);
    await waitFor("10 chats on both", () => (chats(a.c).length >= 10 && chats(b.c).length >= 10) || undefined);
    const seqA = chats(a.c).map((i) => `${i.seq}:${i.text}`);
    const seqB = chats(b.c).map((i) => `${i.seq}:${i.text}`);
    assert.deepEqual(seqA, seqB);
    const nums = chats(a.c).map((i) => i.seq ?? 0);
    assert.deepEqual(nums, [...nums].sort((x, y) => x - y), "in seq order");
    a.c.close();
    b.c.close();
  });

  it("kill -9 of a gateway: its clients reconnect to the other with their last seq and lose nothing", async () => {
    const victim = await join(gwA.wsUrl);
    const writer = await join(gwB.wsUrl);
    await chatAll(writer.c, ["before-1", "before-2"]);
    await waitFor("victim got them", () => chats(victim.c).length >= 2 || undefined);
    const lastSeen = Math.max(victim.seq, ...chats(victim.c).map((i) => i.seq ?? 0));
    gwA.proc.kill("SIGKILL");
    await victim.c.closed();
    const acked = await chatAll(writer.c, ["during-1", "during-2", "during-3"]);
    const back = await join(gwB.wsUrl, lastSeen);
    assert.deepEqual(back.events.filter((e) => e.kind === "chat").map((e) => e.seq), acked);
    back.c.close();
    writer.c.close();
  });

  it("kill -9 of the room's owner: ownership moves, the sequence continues, acknowledged messages survive", async () => {
    const c = await join(gwB.wsUrl);
    const before = await chatAll(c.c, ["pre-1", "pre-2", "pre-3"]);
    // Who owns it: the lease in the store names the node.
    const ownerId = await ownerOf();
    const dead = nodes.find((n) => n.output.includes(`node ${ownerId} started`) || n.output.includes(`Echostreamhub node ${ownerId} started`));
    assert.ok(dead, `owner ${ownerId} among our nodes`);
    dead.proc.kill("SIGKILL");
    const after = await chatAll(c.c, ["post-1", "post-2"]);
    assert.ok(after[0]! > before.at(-1)!, `seq continues: ${JSON.stringify({ before, after })}`);
    assert.notEqual(await ownerOf(), ownerId, "ownership moved");
    const check = await join(gwB.wsUrl);
    const seqs = check.events.filter((e) => e.kind === "chat").map((e) => e.seq ?? 0);
    for (const s of [...before, ...after]) assert.ok(seqs.includes(s), `acknowledged seq ${s} kept`);
    assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y), "no gaps reordered, no duplicates");
    c.c.close();
    check.c.close();
  });
});

/** Reads the room's lease straight from JetStream KV, as an operator would with the nats CLI. */
async function ownerOf(): Promise<string> {
  const { connect } = await import("nats");
  const nc = await connect({ servers: nats.url });
  try {
    const kv = await nc.jetstream().views.kv("esh_room_leases");
    const e = await kv.get(roomId);
    return e ? (JSON.parse(new TextDecoder().decode(e.value)) as { owner: string }).owner : "";
  } finally {
    await nc.close();
  }
}
