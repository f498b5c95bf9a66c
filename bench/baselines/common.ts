/**
 * What the baselines share with our rooms, so the bench compares engines, not features: a
 * seq per room on chat, reactions summed per 200 ms window, the same frame shape
 * `{t:"room", d:{room, items}}` and the same answers `{t:"ok", id, d}`.
 */
export interface BaselineRoom {
  seq: number;
  reactions: Map<string, number>;
}

export const REACTION_WINDOW_MS = 200;

export function roomOf(rooms: Map<string, BaselineRoom>, id: string): BaselineRoom {
  let r = rooms.get(id);
  if (!r) rooms.set(id, (r = { seq: 0, reactions: new Map() }));
  return r;
}

export function startReactionFlush(rooms: Map<string, BaselineRoom>, publish: (room: string, frame: unknown) => void): void {
  setInterval(() => {
    for (const [id, r] of rooms) {
      if (r.reactions.size === 0) continue;
      publish(id, { t: "room", d: { room: id, items: [{ kind: "reactions", counts: Object.fromEntries(r.reactions), windowMs: REACTION_WINDOW_MS }] } });
      r.reactions.clear();
    }
  }, REACTION_WINDOW_MS).unref();
}

export function printListening(port: number): void {
  process.stdout.write(`listening ${port}\n`);
}
