/**
 * Baseline for `bench rpc`: the `ws` library answering the same ping frames with the same
 * codec, and nothing else (no auth, no limits, no actors). Prints its port on stdout.
 */
import { WebSocketServer } from "ws";
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false });
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("message", (data: Buffer) => {
    const f = packr.unpack(data) as { t: string; id: string; d?: { ts?: number } };
    ws.send(packr.pack({ t: "ok", id: f.id, d: { ts: f.d?.ts ?? null, serverTs: Date.now() } }));
  });
});
wss.on("listening", () => {
  const addr = wss.address();
  process.stdout.write(`listening ${typeof addr === "object" && addr !== null ? addr.port : 0}\n`);
});
