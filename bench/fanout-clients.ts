/**
 * One client connection per server kind, behind one small interface, all on the same light
 * WebSocket client (light-ws.ts) so the client-side cost is the same for every server:
 *   ours, uws, ws   msgpack binary frames `{t, id?, d}`
 *   socketio   the Engine.IO v4 / Socket.IO v5 text protocol over WebSocket ("40", "42[...]",
 *              acks "42<id>[...]" / "43<id>[...]", ping "2" -> pong "3")
 */
import { Packr } from "msgpackr";
import { LightWs } from "./light-ws.js";

export type ServerKind = "ours" | "uws" | "ws" | "socketio";
export const SERVER_KINDS: readonly ServerKind[] = ["ours", "uws", "ws", "socketio"];

export interface RoomItemLite {
  kind: string;
  seq?: number;
  text?: string;
}

export interface BenchClient {
  join(room: string): Promise<void>;
  chat(room: string, text: string): void;
  react(room: string, emoji: string): void;
  close(): void;
}

type OnItems = (room: string, items: RoomItemLite[]) => void;
/** A request sent without an id was refused (the server's error frame names its code). */
type OnRefused = (code: string) => void;
const packr = new Packr({ useRecords: false });

export function connectClient(kind: ServerKind, url: string, token: string, localAddress: string, onItems: OnItems, onRefused: OnRefused = () => undefined): Promise<BenchClient> {
  const u = new URL(url);
  const base = { host: u.hostname, port: Number(u.port), localAddress };
  return kind === "socketio" ? connectSocketIo(base, onItems) : connectMsgpack({ ...base, path: kind === "ours" ? `${u.pathname}?token=${token}` : u.pathname }, onItems, onRefused);
}

async function connectMsgpack(o: { host: string; port: number; path: string; localAddress: string }, onItems: OnItems, onRefused: OnRefused): Promise<BenchClient> {
  const pending = new Map<string, () => void>();
  let n = 0;
  const ws = await LightWs.connect({
    ...o,
    onMessage(data) {
      const f = packr.unpack(data) as { t: string; id?: string; d: { room: string; items: RoomItemLite[]; code?: string } };
      if (f.t === "room") onItems(f.d.room, f.d.items);
      else if (f.id !== undefined) pending.get(f.id)?.();
      else if (f.t === "error") onRefused(f.d.code ?? "?");
    },
  });
  const send = (t: string, d: unknown, wantAnswer: boolean): Promise<void> => {
    const id = wantAnswer ? `j${n++}` : undefined;
    ws.send(packr.pack(id ? { t, id, d } : { t, d }));
    return id ? new Promise((res) => pending.set(id, res)) : Promise.resolve();
  };
  return {
    // A join the server never answers fails the run, naming it (no silent retries).
    join: async (room) => {
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([send("room.join", { room }, true).then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000)))]);
      clearTimeout(timer);
      if (!answered) throw new Error(`room.join of ${room} unanswered after 10 s`);
    },
    chat: (room, text) => void send("room.chat", { room, text }, false),
    react: (room, emoji) => void send("room.react", { room, emoji }, false),
    close: () => ws.close(),
  };
}

async function connectSocketIo(o: { host: string; port: number; localAddress: string }, onItems: OnItems): Promise<BenchClient> {
  const acks = new Map<number, () => void>();
  let nextAck = 0;
  let connected: () => void = () => undefined;
  const ready = new Promise<void>((r) => (connected = r));
  const ws: LightWs = await LightWs.connect({
    ...o,
    path: "/socket.io/?EIO=4&transport=websocket",
    onMessage(data) {
      const s = data.toString();
      if (s === "2") return ws.send("3");
      if (s.startsWith("0")) return ws.send("40");
      if (s.startsWith("40")) return connected();
      if (s.startsWith("43")) return acks.get(Number(/^43(\d+)/.exec(s)?.[1]))?.();
      if (s.startsWith("42[")) {
        const [event, d] = JSON.parse(s.slice(2)) as [string, { room: string; items: RoomItemLite[] }];
        if (event === "room") onItems(d.room, d.items);
      }
    },
  });
  await ready;
  const emit = (event: string, d: unknown, wantAck: boolean): Promise<void> => {
    if (!wantAck) {
      ws.send(`42${JSON.stringify([event, d])}`);
      return Promise.resolve();
    }
    const id = nextAck++;
    ws.send(`42${id}${JSON.stringify([event, d])}`);
    return new Promise((res) => acks.set(id, res));
  };
  return {
    join: async (room) => {
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([emit("room.join", { room }, true).then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000)))]);
      clearTimeout(timer);
      if (!answered) throw new Error(`Socket.IO room.join of ${room} unanswered after 10 s`);
    },
    chat: (room, text) => void emit("room.chat", { room, text }, false), // no ack: the same protocol work as ours and ws
    react: (room, emoji) => void emit("room.react", { room, emoji }, false),
    close: () => ws.close(),
  };
}
