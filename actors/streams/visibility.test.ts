import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Caller, Role } from "../../lib/identity.js";
import { canWatch, isListed, manages } from "./visibility.js";

const user = (userId: string, role: Role = "viewer", guest = false): Caller => ({ kind: "user", principal: { userId, name: userId, role, guest, sid: "s", exp: 0 } });
const anonymous: Caller = { kind: "anonymous", ip: "127.0.0.1" };
const owner = user("owner", "creator");
const admin = user("root", "admin");
const friend = user("friend");
const stranger = user("stranger");
const guest = user("g-1", "viewer", true);

describe("visibility", () => {
  it("public: everyone watches, everyone lists", () => {
    const s = { ownerId: "owner", visibility: "public" as const };
    for (const c of [owner, admin, friend, stranger, guest, anonymous]) assert.ok(canWatch(s, c));
    assert.ok(isListed(s));
    assert.ok(canWatch({ ownerId: "owner" }, guest), "no visibility recorded = public (streams made before visibility existed)");
  });

  it("unlisted: anyone with the link watches; it is never listed", () => {
    const s = { ownerId: "owner", visibility: "unlisted" as const };
    for (const c of [owner, admin, stranger, guest, anonymous]) assert.ok(canWatch(s, c));
    assert.equal(isListed(s), false);
  });

  it("private: owner, admins and granted registered users only; a guest is never granted", () => {
    const s = { ownerId: "owner", visibility: "private" as const, grants: ["friend", "g-1"] };
    assert.deepEqual([owner, admin, friend, stranger, guest, anonymous].map((c) => canWatch(s, c)), [true, true, true, false, false, false]);
    assert.equal(isListed(s), false);
    assert.ok(canWatch(s, undefined), "other actors act for the platform");
    assert.ok(manages(s, owner) && manages(s, admin) && !manages(s, friend));
  });
});
