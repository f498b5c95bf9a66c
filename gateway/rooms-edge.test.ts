/**
 * The rooms edge on a real uWS app and real `ws` clients: what its batching window does to
 * frames (0: one frame per owner broadcast; W > 0: broadcasts within the window share a frame,
 * leading edge), and that every member gets every item once, in order.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { us_listen_socket, WebSocket as UwsSocket } from "@trufflesuite/uws-js-unofficial";
import { unpack } from "msgpackr";
import WebSocket from "ws";
import type { RoomItem } from "../protocol/rooms.js";
import { waitFor } from "../tools/harness/ports.js";
import type { Connection } from "./ws/connection.js";
import { JoinBatcher } from "./join-batcher.js";
import { RoomsEdge } from "./rooms-edge.js";
import { loadUws } from "./uws.js";

const { uws } = loadUws(false);
const noActor = () => Promise.reject(new Error("no rooms actor in this test"));
const joins = new JoinBatcher({ maxBatch: 500, call: noActor });
const edges = { unbatched: new RoomsEdge({ nodeId: "t0", batchMs: 0, reactionFlushMs: 1000, joins, callInternal: noActor, onError: () => undefined }), batched: new RoomsEdge({ nodeId: "t10", batchMs: 10, reactionFlushMs: 1000, joins, callInternal: noActor, onError: () => undefined }) };
const listens: us_listen_socket[] = [];
const open: WebSocket[] = [];
const urls: Record<keyof typeof edges, string> = { unbatched: "", batched: "" };

before(async () => {
  for (const name of ["unbatched", "batched"] as const) {
    const edge = edges[name];
    const app = uws.App();
    app.ws("/*", {
      open: (ws: UwsSocket<Connection>) => {
        Object.assign(ws.getUserData(), { format: "msgpack", rooms: new Set<string>(), principal: { userId: "u", name: "u" } });
        edge.subscribe(ws, "r1");
        ws.send("subscribed");
      },
    });
    edge.attach(app);
    edge.joined("r1", 0);
    const sock = await new Promise<us_listen_socket>((resolve, reject) => app.listen("127.0.0.1", 0, (s) => (s ? resolve(s) : reject(new Error("cannot listen")))));
    listens.push(sock);
    urls[name] = `ws://127.0.0.1:${uws.us_socket_local_port(sock)}/`;
  }
});

after(() => {
  for (const ws of open) ws.terminate();
  for (const s of listens) uws.us_listen_socket_close(s);
  for (const e of Object.values(edges)) e.stop();
});

async function member(url: string): Promise<{ frames: RoomItem[][]; ws: WebSocket }> {
  const ws = new WebSocket(url);
  open.push(ws);
  const frames: RoomItem[][] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on("message", (data: Buffer, binary: boolean) => {
      if (!binary) return resolve();
      frames.push((unpack(data) as { d: { items: RoomItem[] } }).d.items);
    });
    ws.once("error", reject);
  });
  return { frames, ws };
}

const chat = (seq: number): RoomItem => ({ seq, ts: Date.now(), kind: "chat", user: { id: "u", name: "u" }, text: `m${seq}` });

describe("rooms edge batching", () => {
  it("with a 0 ms window each broadcast from the owner is its own frame", async () => {
    const members = [await member(urls.unbatched), await member(urls.unbatched)];
    for (let s = 1; s <= 3; s++) edges.unbatched.onRoomOut({ room: "r1", items: [chat(s)] });
    for (const m of members) {
      await waitFor("the items", () => m.frames.flat().length >= 3 || undefined, 5000);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(m.frames.map((f) => f.map((i) => ("seq" in i ? i.seq : -1))), [[1], [2], [3]]);
    }
  });

  it("with a 10 ms window broadcasts that arrive together share one frame, in order", async () => {
    const members = [await member(urls.batched), await member(urls.batched)];
    for (let s = 1; s <= 3; s++) edges.batched.onRoomOut({ room: "r1", items: [chat(s)] });
    for (const m of members) {
      await waitFor("the items", () => m.frames.flat().length >= 3 || undefined, 5000);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(m.frames.map((f) => f.map((i) => ("seq" in i ? i.seq : -1))), [[1, 2, 3]]);
    }
  });

  it("takes one join of a room per connection at a time, and counts joins on their way against the room cap", () => {
    const edge = new RoomsEdge({ nodeId: "t-once", batchMs: 0, reactionFlushMs: 1000, joins, callInternal: noActor, onError: () => undefined });
    const conn = { id: 7, rooms: new Set<string>(["in-already"]) } as unknown as Connection;
    const r9 = edge.beginJoin(conn, "r9", 3);
    assert.throws(() => edge.beginJoin(conn, "r9", 3), (err: { type?: string }) => err.type === "CONFLICT", "the same room again while on its way");
    const r10 = edge.beginJoin(conn, "r10", 3);
    assert.throws(() => edge.beginJoin(conn, "r11", 3), (err: { type?: string }) => err.type === "BAD_REQUEST", "1 joined + 2 joining = the cap of 3: pipelined joins cannot pass it");
    edge.beginJoin(conn, "in-already", 3)(); // a resync of a joined room is not a new room
    r9();
    r9(); // twice: harmless
    const r11 = edge.beginJoin(conn, "r11", 3);
    const again = edge.beginJoin(conn, "r9", 4);
    for (const end of [r10, r11, again]) end();
    edge.beginJoin({ id: 8, rooms: new Set<string>() } as unknown as Connection, "r9", 3)(); // another connection is not held back
    edge.stop();
  });
});
