/**
 * A reconnect-storm bench client process (bench/storm.ts): holds its share of the clients
 * (storm-client.ts), enters them (connect + join) with bounded concurrency, and once armed,
 * brings back the clients of the gateway that is about to die: each waits as the reconnect rule
 * says, connects to a surviving gateway (picked at random, as a load balancer would) and rejoins
 * with its last seq. Reports wall-clock times over IPC.
 */
import { reconnectAfter } from "../protocol/close-codes.js";
import { Refused, StormClient, type Rejoin } from "./storm-client.js";

export type StormCommand =
  | { cmd: "enter"; clients: { token: string; gateway: number }[]; urls: string[]; room: string; addresses: string[]; concurrency: number }
  | { cmd: "arm"; lost: number[]; survivors: number[]; rule: "app" | "naive" | "overrun" }
  | { cmd: "leave" }
  | { cmd: "close" };

export type StormMessage =
  | { type: "entered"; n: number; startAt: number; lastAt: number; refused: [string, number][] }
  | { type: "armed"; lost: number }
  | { type: "back"; at: number[]; gateway: number[]; lostAt: number[]; upgradedAt: number[]; outcomes: Record<Rejoin, number>; refused: [string, number][] }
  | { type: "left" }
  | { type: "progress"; n: number }
  | { type: "error"; message: string };

const send = (m: StormMessage) => process.send?.(m);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let clients: StormClient[] = [];
let urls: URL[] = [];
let refused = new Map<string, number>();
let armed: { lost: number[]; survivors: number[]; rule: "app" | "naive" | "overrun"; waiting: number; at: number[]; gateway: number[]; lostAt: number[]; upgradedAt: number[]; outcomes: Record<Rejoin, number> } | undefined;

const count = (why: string) => refused.set(why, (refused.get(why) ?? 0) + 1);

/** A fresh client in: retried after the wait a refusal asked for (250-500 ms when none). */
async function enterOne(c: StormClient, gateway: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    try {
      await c.enter(urls[gateway] as URL, gateway, undefined);
      return;
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      count(err.why);
      await sleep(err.waitMs || 250 + Math.random() * 250);
    }
  }
  throw new Error("a client was refused 100 times in a row");
}

async function enterAll(cmd: Extract<StormCommand, { cmd: "enter" }>): Promise<void> {
  urls = cmd.urls.map((u) => new URL(u));
  refused = new Map();
  const startAt = Date.now();
  const queue = cmd.clients.map((spec, i) => ({ c: new StormClient(spec.token, cmd.room, cmd.addresses[i % cmd.addresses.length], onLost, count), gateway: spec.gateway }));
  clients = queue.map((q) => q.c);
  let done = 0;
  let lastAt = startAt;
  const lane = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      await enterOne(next.c, next.gateway);
      lastAt = Date.now();
      if (++done % 1000 === 0) send({ type: "progress", n: done });
    }
  };
  await Promise.all(Array.from({ length: cmd.concurrency }, lane));
  send({ type: "entered", n: clients.length, startAt, lastAt, refused: [...refused] });
}

function onLost(c: StormClient): void {
  if (!armed?.lost.includes(c.gateway)) return;
  void comeBack(c, armed).catch((err: unknown) => send({ type: "error", message: `comeBack: ${String(err)}` }));
}

/** Back in the room: wait by the rule (or as a refusal asked), connect to a survivor, rejoin with the seq. */
async function comeBack(c: StormClient, a: NonNullable<typeof armed>): Promise<void> {
  let asked = 0;
  for (let attempt = 0; ; attempt++) {
    // naive: never waits; overrun: at once, then as a refusal asks; app: the app's rule.
    const wait = a.rule === "naive" ? 0 : asked > 0 ? asked : a.rule === "overrun" ? 0 : (reconnectAfter(1006, attempt, Math.random()) ?? 500);
    if (wait > 0) await sleep(wait);
    const gw = a.survivors[Math.floor(Math.random() * a.survivors.length)] ?? 0;
    try {
      const outcome = await c.enter(urls[gw] as URL, gw, c.seq);
      a.at.push(Date.now());
      a.gateway.push(gw);
      a.lostAt.push(c.lostAt);
      a.upgradedAt.push(c.upgradedAt);
      a.outcomes[outcome]++;
      if (--a.waiting === 0) send({ type: "back", at: a.at, gateway: a.gateway, lostAt: a.lostAt, upgradedAt: a.upgradedAt, outcomes: a.outcomes, refused: [...refused] });
      return;
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      count(err.why);
      asked = err.waitMs;
    }
  }
}

process.on("message", (msg: StormCommand) => {
  void (async () => {
    if (msg.cmd === "enter") await enterAll(msg);
    else if (msg.cmd === "arm") {
      refused = new Map();
      const waiting = clients.filter((c) => msg.lost.includes(c.gateway)).length;
      armed = { ...msg, waiting, at: [], gateway: [], lostAt: [], upgradedAt: [], outcomes: { resumed: 0, reset: 0, gap: 0, fresh: 0 } };
      send({ type: "armed", lost: waiting });
      if (waiting === 0) send({ type: "back", at: [], gateway: [], lostAt: [], upgradedAt: [], outcomes: armed.outcomes, refused: [] });
    } else if (msg.cmd === "leave") {
      armed = undefined;
      for (const c of clients) c.close();
      clients = [];
      send({ type: "left" });
    } else {
      for (const c of clients) c.close();
      setTimeout(() => process.exit(0), 200);
    }
  })().catch((err: unknown) => send({ type: "error", message: String(err) }));
});
// The coordinator gone: nothing left to report to.
process.on("disconnect", () => process.exit(0));
