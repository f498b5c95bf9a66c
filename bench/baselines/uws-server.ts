/**
 * The engine's ceiling: raw uWebSockets.js (the same native build our gateway loads) with
 * `publish` to a topic per room, and nothing else: no auth, no sequencing (a bare counter fills
 * the seq field), no durable log, no presence, no rate limits. Same frames, the same bytes, and
 * the same batching rule as every server (common.ts). Our
 * gateway is measured against this to show what its own work costs.
 */
import { Packr } from "msgpackr";
import { loadUws } from "../../gateway/uws.js";
import { BATCH_MS, guestUser, printListening, roomBatcher, roomOf, startReactionFlush, type BaselineRoom } from "./common.js";

const packr = new Packr({ useRecords: false });
const rooms = new Map<string, BaselineRoom>();
const { uws } = loadUws(false);
const app = uws.App();
const add = roomBatcher(BATCH_MS, (room, items) => app.publish(`room/${room}`, packr.pack({ t: "room", d: { room, items } }), true));

let seq = 0; // a counter only, so its frames carry the same bytes as the others' (no sequencing work, no log)

app.ws<{ user: { id: string; name: string } }>("/*", {
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 16 << 20,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  open: (ws) => {
    ws.getUserData().user = guestUser();
  },
  message: (ws, message) => {
    let f: { t: string; id?: string; d: { room: string; text?: string; emoji?: string } };
    try {
      f = packr.unpack(Buffer.from(message)) as typeof f;
    } catch {
      return;
    }
    if (f.t === "room.join") {
      ws.subscribe(`room/${f.d.room}`);
      if (f.id !== undefined) ws.send(packr.pack({ t: "ok", id: f.id, d: { seq: 0, events: [] } }), true);
    } else if (f.t === "room.chat") {
      add(f.d.room, { kind: "chat", seq: ++seq, ts: Date.now(), user: ws.getUserData().user, text: f.d.text });
    } else if (f.t === "room.react" && f.d.emoji) {
      const r = roomOf(rooms, f.d.room);
      r.reactions.set(f.d.emoji, (r.reactions.get(f.d.emoji) ?? 0) + 1);
    }
  },
});
startReactionFlush(rooms, add);
app.listen("127.0.0.1", Number(process.env.PORT ?? 0), (sock) => {
  if (!sock) throw new Error("uws: listen failed");
  printListening(uws.us_socket_local_port(sock));
});
