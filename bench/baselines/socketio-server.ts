/**
 * Baseline: Socket.IO with the same room semantics (see common.ts), using its rooms
 * (`socket.join`, `io.to(room).emit`, which encodes once per broadcast). WebSocket transport.
 */
import { createServer } from "node:http";
import { Server } from "socket.io";
import { BATCH_MS, guestUser, printListening, roomBatcher, roomOf, startReactionFlush, type BaselineRoom } from "./common.js";

const rooms = new Map<string, BaselineRoom>();
const http = createServer();
const io = new Server(http, { transports: ["websocket"], perMessageDeflate: false, maxHttpBufferSize: 64 * 1024 });
const add = roomBatcher(BATCH_MS, (room, items) => io.to(room).emit("room", { room, items }));

io.on("connection", (socket) => {
  const user = guestUser();
  socket.on("room.join", (d: { room: string }, ack: (x: unknown) => void) => {
    void socket.join(d.room);
    ack({ seq: roomOf(rooms, d.room).seq, events: [] });
  });
  // An ack only when the client asked for one (the bench's clients send chat without, as to ours).
  socket.on("room.chat", (d: { room: string; text: string }, ack?: (x: unknown) => void) => {
    const seq = ++roomOf(rooms, d.room).seq;
    add(d.room, { kind: "chat", seq, ts: Date.now(), user, text: d.text });
    ack?.({ seq });
  });
  socket.on("room.react", (d: { room: string; emoji: string }) => {
    const r = roomOf(rooms, d.room);
    r.reactions.set(d.emoji, (r.reactions.get(d.emoji) ?? 0) + 1);
  });
});
startReactionFlush(rooms, add);
http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const a = http.address();
  printListening(typeof a === "object" && a !== null ? a.port : 0);
});
