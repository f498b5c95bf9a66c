/**
 * The gateway's view of who may watch: a private stream's room is refused to others, and a
 * burst of joins (a reconnect storm) asks the catalog once per stream, not once per join.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Principal } from "../../lib/identity.js";
import { MediaAccess, type StreamView } from "./media-access.js";

const viewer = (userId: string): Principal => ({ userId, name: userId, role: "viewer", guest: false, sid: "s", exp: 2e9 });

describe("MediaAccess", () => {
  it("asks the catalog once for a burst of joins of one stream, and refuses a private one to others", async () => {
    let lookups = 0;
    const streams: Record<string, StreamView> = { pub: { ownerId: "host", kind: "live", status: "live" }, priv: { ownerId: "host", kind: "live", status: "live", visibility: "private", grants: ["friend"] } };
    const access = new MediaAccess({
      lookup: async (id) => {
        lookups++;
        await new Promise((r) => setTimeout(r, 20));
        return streams[id];
      },
      verifyPlayback: () => Promise.resolve(false),
      verifyToken: () => Promise.reject(new Error("unused")),
    });
    await Promise.all(Array.from({ length: 500 }, (_, i) => access.watchable("pub", viewer(`v${String(i)}`))));
    assert.equal(lookups, 1, "one lookup for 500 concurrent joins");
    await access.watchable("priv", viewer("friend"));
    await assert.rejects(access.watchable("priv", viewer("stranger")), (err: { type?: string }) => err.type === "NOT_FOUND");
    assert.equal(lookups, 2);
  });

  it("a stream made private while a lookup is on its way: later joins ask again, nothing stale is kept", async () => {
    let visibility: "public" | "private" = "public";
    let lookups = 0;
    const access = new MediaAccess({
      lookup: async () => {
        lookups++;
        const v = visibility; // what the catalog said when asked
        await new Promise((r) => setTimeout(r, 30));
        return { ownerId: "host", kind: "live", status: "live", visibility: v };
      },
      verifyPlayback: () => Promise.resolve(false),
      verifyToken: () => Promise.reject(new Error("unused")),
    });
    const before = access.watchable("s", viewer("early"));
    visibility = "private";
    access.forget("s"); // streams.updated reached this gateway
    await assert.rejects(access.watchable("s", viewer("stranger")), (err: { type?: string }) => err.type === "NOT_FOUND", "not answered from the lookup begun before the change");
    await before; // asked before the change: answered as it was then
    await assert.rejects(access.watchable("s", viewer("later")), (err: { type?: string }) => err.type === "NOT_FOUND", "the old answer was not cached");
    assert.equal(lookups, 2);
  });
});
