/**
 * What the baselines share with our rooms, so the bench compares engines, not features: chat
 * items of the same shape and size (`{kind, seq, ts, user: {id, name}, text}`), reactions
 * summed per 200 ms window, the same frame shape `{t:"room", d:{room, items}}`, the same answers
 * `{t:"ok", id, d}` (only to requests that carry an id), and the same batching rule as our
 * gateway (gateway/rooms-edge.ts), chosen by BATCH_MS: 0 sends each item in its own frame as it
 * arrives; W > 0 sends a room at most one frame per W ms, leading edge (the first item after a
 * quiet window goes out on the next turn).
 */
import { randomBytes } from "node:crypto";

/** A connection's user as our rooms show it in every chat item (a guest: the same field sizes),
 *  so the baselines' frames carry the same bytes and the clients decode the same work. */
export function guestUser(): { id: string; name: string } {
  const id = `guest-${randomBytes(12).toString("base64url")}`;
  return { id, name: `guest-${id.slice(6, 12)}` };
}

export interface BaselineRoom {
  seq: number;
  reactions: Map<string, number>;
}

export const REACTION_WINDOW_MS = 200;
/** The batching window every server of a bench row is given (bench/fanout.ts sets it). */
export const BATCH_MS = Number(process.env.BATCH_MS ?? 0);

export function roomOf(rooms: Map<string, BaselineRoom>, id: string): BaselineRoom {
  let r = rooms.get(id);
  if (!r) rooms.set(id, (r = { seq: 0, reactions: new Map() }));
  return r;
}

/** Gathers a room's items into frames by the rule above; `send` gets one room's items per frame. */
export function roomBatcher(windowMs: number, send: (room: string, items: unknown[]) => void): (room: string, item: unknown) => void {
  if (windowMs <= 0) return (room, item) => send(room, [item]);
  const pending = new Map<string, unknown[]>();
  let scheduled = false;
  let last = -Infinity;
  const flush = () => {
    scheduled = false;
    last = performance.now();
    for (const [room, items] of pending) send(room, items);
    pending.clear();
  };
  return (room, item) => {
    const q = pending.get(room);
    if (q) q.push(item);
    else pending.set(room, [item]);
    if (scheduled) return;
    scheduled = true;
    const wait = last + windowMs - performance.now();
    if (wait <= 0) setImmediate(flush);
    else setTimeout(flush, wait);
  };
}

export function startReactionFlush(rooms: Map<string, BaselineRoom>, add: (room: string, item: unknown) => void): void {
  setInterval(() => {
    for (const [id, r] of rooms) {
      if (r.reactions.size === 0) continue;
      add(id, { kind: "reactions", counts: Object.fromEntries(r.reactions), windowMs: REACTION_WINDOW_MS });
      r.reactions.clear();
    }
  }, REACTION_WINDOW_MS).unref();
}

export function printListening(port: number): void {
  process.stdout.write(`listening ${port}\n`);
}
