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
});
