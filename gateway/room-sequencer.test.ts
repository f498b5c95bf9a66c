import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RoomEvent, RoomItem } from "../protocol/rooms.js";
import { RoomSequencer } from "./room-sequencer.js";

const chat = (seq: number): RoomEvent => ({ seq, ts: 0, kind: "chat", user: { id: "u", name: "u" }, text: `m${seq}` });
const react: RoomItem = { kind: "reactions", counts: { "👍": 1 } } as unknown as RoomItem;
const seqs = (items: RoomItem[]) => items.map((i) => ("seq" in i ? i.seq : "r"));

function setup(history: RoomEvent[], failTimes = 0) {
  const out: (number | string)[] = [];
  const fetches: number[] = [];
  let fails = failTimes;
  const s = new RoomSequencer({
    fetchSince: (_room, since) => {
      fetches.push(since);
      if (fails-- > 0) return Promise.reject(new Error("owner moving"));
      return Promise.resolve(history.filter((e) => e.seq > since));
    },
    emit: (_room, items) => out.push(...seqs(items)),
    onRepaired: () => undefined,
    onError: () => undefined,
  });
  return { s, out, fetches };
}

const settle = (ms = 10) => new Promise((r) => setTimeout(r, ms));

describe("RoomSequencer", () => {
  it("forwards in order and drops repeats", () => {
    const { s, out } = setup([]);
    s.joined("r", 3);
    s.items("r", [chat(4), react, chat(5)]);
    s.items("r", [chat(5), chat(6)]);
    assert.deepEqual(out, [4, "r", 5, 6]);
  });

  it("fills a gap from the owner before what arrived after it, holding later items meanwhile", async () => {
    const history = [1, 2, 3, 4, 5, 6, 7].map(chat);
    const { s, out, fetches } = setup(history);
    s.joined("r", 2);
    s.items("r", [chat(3)]);
    s.items("r", [chat(6)]); // 4 and 5 were lost
    s.items("r", [react, chat(7)]); // arrives while the repair is in flight
    await settle();
    assert.deepEqual(fetches, [3]);
    // The owner's history already had 7: the held copies of 6 and 7 are dropped, the reaction kept.
    assert.deepEqual(out, [3, 4, 5, 6, 7, "r"]);
  });

  it("a lost last event shows in the owner's seq and is fetched", async () => {
    const { s, out } = setup([1, 2, 3].map(chat));
    s.joined("r", 1);
    s.items("r", [chat(2)]);
    s.ownerSeq("r", 3);
    await settle();
    assert.deepEqual(out, [2, 3]);
    s.ownerSeq("r", 3);
    await settle();
    assert.deepEqual(out, [2, 3], "no repair when up to date");
  });

  it("retries while the owner is unreachable, then fills the gap", async () => {
    const { s, out, fetches } = setup([1, 2, 3, 4].map(chat), 2);
    s.joined("r", 1);
    s.items("r", [chat(4)]);
    await settle(1000);
    assert.equal(fetches.length, 3);
    assert.deepEqual(out, [2, 3, 4]);
  });
});
