/**
 * One client connection per server kind, behind one small interface, so the fan-out bench
 * drives ours and the baselines with the same code.
 */
import { Packr } from "msgpackr";
import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";

export type ServerKind = "ours" | "ws" | "socketio";

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

const packr = new Packr({ useRecords: false });

export function connectClient(kind: ServerKind, url: string, token: string, localAddress: string, onItems: (room: string, items: RoomItemLite[]) => void): Promise<BenchClient> {
  return kind === "socketio" ? connectSocketIo(url, localAddress, onItems) : connectWs(kind === "ours" ? `${url}?token=${token}` : url, localAddress, onItems);
}

function connectWs(url: string, localAddress: string, onItems: (room: string, items: RoomItemLite[]) => void): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress });
    const pending = new Map<string, () => void>();
    let n = 0;
    const send = (t: string, d: unknown, wantAnswer: boolean): Promise<void> => {
      const id = wantAnswer ? `j${n++}` : undefined;
      ws.send(packr.pack(id ? { t, id, d } : { t, d }));
      return id ? new Promise((res) => pending.set(id, res)) : Promise.resolve();
    };
    ws.on("message", (data: Buffer) => {
      const f = packr.unpack(data) as { t: string; id?: string; d: { room: string; items: RoomItemLite[] } };
      if (f.t === "room") onItems(f.d.room, f.d.items);
      else if (f.id !== undefined) pending.get(f.id)?.();
    });
    ws.once("open", () =>
      resolve({
        join: (room) => send("room.join", { room }, true),
        chat: (room, text) => void send("room.chat", { room, text }, false),
        react: (room, emoji) => void send("room.react", { room, emoji }, false),
        close: () => ws.close(),
      }),
    );
    ws.once("error", reject);
  });
}

function connectSocketIo(url: string, localAddress: string, onItems: (room: string, items: RoomItemLite[]) => void): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const socket: Socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, localAddress } as Parameters<typeof io>[1]);
    socket.on("room", (d: { room: string; items: RoomItemLite[] }) => onItems(d.room, d.items));
    socket.once("connect", () =>
      resolve({
        join: (room) => new Promise((res) => socket.emit("room.join", { room }, () => res())),
        chat: (room, text) => void socket.emit("room.chat", { room, text }, () => undefined),
        react: (room, emoji) => void socket.emit("room.react", { room, emoji }),
        close: () => socket.close(),
      }),
    );
    socket.once("connect_error", reject);
  });
}
