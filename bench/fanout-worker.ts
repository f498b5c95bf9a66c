/**
 * A fan-out bench client process: holds its share of the connections (each from one of the
 * 127.0.0.x source addresses it was given), sends its share of chat and reactions during a
 * step, and reports back over IPC a latency histogram and, per client, how many distinct chats
 * of the step it received and how many it received again (duplicates).
 */
import { connectClient, type BenchClient, type RoomItemLite, type ServerKind } from "./fanout-clients.js";
import { HIST_BUCKETS, histIndex, Receipts, type StepReport, type WorkerCommand } from "./fanout-protocol.js";

interface Held {
  c: BenchClient;
  room: string;
  receipts: Receipts;
}

const clients: Held[] = [];
let worker = 0;
let stepId = "";
let hist = new Array<number>(HIST_BUCKETS).fill(0);
let refused = new Map<string, number>();
const now = () => performance.timeOrigin + performance.now();
const send = (m: unknown) => process.send?.(m);

/** Chat text: `<step>|<worker>.<n>|<sent at ms>`. */
function onItems(held: Held, items: RoomItemLite[]): void {
  for (const it of items) {
    if (it.kind !== "chat" || !it.text?.startsWith(stepId)) continue;
    const [, key, ts] = it.text.split("|");
    const dot = key?.indexOf(".") ?? -1;
    if (!key || !ts || dot < 0) continue;
    if (!held.receipts.add(Number(key.slice(0, dot)), Number(key.slice(dot + 1)))) continue;
    const b = histIndex(now() - Number(ts));
    hist[b] = (hist[b] ?? 0) + 1;
  }
}

async function connectAll(kind: ServerKind, url: string, list: { token: string; room: string }[], addresses: string[]): Promise<void> {
  let done = 0;
  const queue = [...list.entries()];
  const one = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [i, spec] = next;
      const box: { held?: Held } = {}; // items come only after the join, by when it is set
      const c = await connectClient(kind, url, spec.token, addresses[i % addresses.length] ?? "127.0.0.1", (_room, items) => {
        if (box.held) onItems(box.held, items);
      }, (code) => refused.set(code, (refused.get(code) ?? 0) + 1));
      const held: Held = (box.held = { c, room: spec.room, receipts: new Receipts() });
      await c.join(spec.room);
      clients.push(held);
      if (++done % 250 === 0) send({ type: "progress", connected: done });
    }
  };
  await Promise.all(Array.from({ length: 32 }, one));
}

/** Sends the given chats/s and reactions/s for each room this worker has clients in. */
async function runStep(id: string, rates: Record<string, { chat: number; react: number }>, seconds: number, drainMs: number): Promise<StepReport> {
  stepId = id;
  hist = new Array<number>(HIST_BUCKETS).fill(0);
  refused = new Map();
  for (const h of clients) h.receipts = new Receipts();
  const sent = new Map<string, number>();
  const byRoom = new Map<string, BenchClient[]>();
  for (const { c, room } of clients) byRoom.set(room, [...(byRoom.get(room) ?? []), c]);
  const started = now();
  const TICK = 10;
  let n = 0;
  // Open loop: what is due follows the clock, not the ticks, so a busy client process that
  // fires late sends what it owes at once instead of quietly offering less load.
  const done = new Map<string, { chat: number; react: number }>();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Math.min(now() - started, seconds * 1000);
      for (const [room, list] of byRoom) {
        const r = rates[room];
        if (!r) continue;
        const d = done.get(room) ?? { chat: 0, react: 0 };
        for (; d.chat < Math.floor((r.chat * elapsed) / 1000); d.chat++) {
          list[n % list.length]?.chat(room, `${id}|${worker}.${n}|${now()}`);
          n++;
          sent.set(room, (sent.get(room) ?? 0) + 1);
        }
        for (; d.react < Math.floor((r.react * elapsed) / 1000); d.react++) list[(n + d.react * 7) % list.length]?.react(room, "🔥");
        done.set(room, d);
      }
      if (elapsed >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, TICK);
  });
  await new Promise((r) => setTimeout(r, drainMs));
  return { type: "step", hist, sent: [...sent], clients: clients.map((h) => [h.room, h.receipts.unique, h.receipts.dups]), refused: [...refused] };
}

process.on("message", (msg: WorkerCommand) => {
  void (async () => {
    if (msg.cmd === "connect") {
      worker = msg.worker;
      await connectAll(msg.kind, msg.url, msg.clients, msg.addresses);
      send({ type: "connected", n: clients.length });
    } else if (msg.cmd === "step") {
      send(await runStep(msg.id, msg.rates, msg.seconds, msg.drainMs));
    } else {
      for (const { c } of clients) c.close();
      setTimeout(() => process.exit(0), 200);
    }
  })().catch((err: unknown) => {
    send({ type: "error", message: String(err) });
  });
});
// The coordinator gone (killed, crashed): nothing left to report to.
process.on("disconnect", () => process.exit(0));
