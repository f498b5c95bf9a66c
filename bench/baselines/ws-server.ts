/**
 * Baseline: a plain `ws` server with the same room semantics (see common.ts). It encodes a
 * frame once and loops over the room's sockets, as a careful ws application would.
 */
import { Packr } from "msgpackr";
import { WebSocketServer, type WebSocket } from "ws";
import { BATCH_MS, guestUser, printListening, roomBatcher, roomOf, startReactionFlush, type BaselineRoom } from "./common.js";

const packr = new Packr({ useRecords: false });
const rooms = new Map<string, BaselineRoom>();
const members = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0), perMessageDeflate: false, maxPayload: 64 * 1024 });

const add = roomBatcher(BATCH_MS, (room, items) => {
  const buf = packr.pack({ t: "room", d: { room, items } });
  for (const ws of members.get(room) ?? []) ws.send(buf);
});

wss.on("connection", (ws) => {
  const joined = new Set<string>();
  const user = guestUser();
  ws.on("message", (data: Buffer) => {
    let f: { t: string; id?: string; d: { room: string; text?: string; emoji?: string } };
    try {
      f = packr.unpack(data) as typeof f;
    } catch {
      return;
    }
    // Only a request with an id gets an answer, as on our gateway (chat is sent without one).
    const answer = (d: unknown) => f.id !== undefined && ws.send(packr.pack({ t: "ok", id: f.id, d }));
    const r = roomOf(rooms, f.d.room);
    if (f.t === "room.join") {
      let set = members.get(f.d.room);
      if (!set) members.set(f.d.room, (set = new Set()));
      set.add(ws);
      joined.add(f.d.room);
      answer({ seq: r.seq, events: [] });
    } else if (f.t === "room.chat") {
      const seq = ++r.seq;
      add(f.d.room, { kind: "chat", seq, ts: Date.now(), user, text: f.d.text });
      answer({ seq });
    } else if (f.t === "room.react" && f.d.emoji) {
      r.reactions.set(f.d.emoji, (r.reactions.get(f.d.emoji) ?? 0) + 1);
    }
  });
  ws.on("close", () => {
    for (const room of joined) members.get(room)?.delete(ws);
  });
});
startReactionFlush(rooms, add);
wss.on("listening", () => {
  const a = wss.address();
  printListening(typeof a === "object" && a !== null ? a.port : 0);
});
