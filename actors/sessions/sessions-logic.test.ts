/**
 * Accounts, tokens and revocation as the sessions actor holds them, on the real sqlite store
 * and a real (in-process) Moleculer broker that hears the revocations it broadcasts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config.js";
import type { Revocation } from "../../lib/revocations.js";
import { SqliteStore } from "../../store/store-sqlite.js";
import { SessionsLogic } from "./sessions-logic.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-sessions-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));
const broker = new ServiceBroker({ logger: false, nodeID: "sessions-test" });
const revoked: Revocation[][] = [];
let logic: SessionsLogic;
let open: SessionsLogic;

before(async () => {
  broker.createService({ name: "listener", events: { "sessions.revoked": { handler: (ctx: { params: { list: Revocation[] } }) => void revoked.push(ctx.params.list) } } });
  await broker.start();
  logic = new SessionsLogic(loadConfig({ ESH_AUTH_SCRYPT_COST: "1024", DATA_DIR: dir }), store, broker);
  await logic.start();
  open = new SessionsLogic(loadConfig({ ESH_AUTH_SCRYPT_COST: "1024", DATA_DIR: dir, ESH_AUTH_OPEN_CREATOR_SIGNUP: "true" }), store, broker);
  await open.start();
});

after(async () => {
  logic.stop();
  open.stop();
  await broker.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SessionsLogic", () => {
  it("creator sign-up is closed unless the setting opens it", async () => {
    await assert.rejects(logic.register({ username: "eager", password: "eager password 1", role: "creator" }), (err: { type?: string }) => err.type === "FORBIDDEN");
    assert.equal((await logic.register({ username: "patient", password: "patient password 1" })).user.role, "viewer");
    assert.equal((await open.register({ username: "opener", password: "opener password 1", role: "creator" })).user.role, "creator");
  });

  it("refresh tokens rotate; presenting a used one revokes the whole session, on every node", async () => {
    const first = await logic.login("patient", "patient password 1");
    const second = await logic.refresh(first.refreshToken ?? "");
    assert.notEqual(second.refreshToken, first.refreshToken);
    const before = revoked.length;
    await assert.rejects(logic.refresh(first.refreshToken ?? ""), (err: { type?: string }) => err.type === "TOKEN_REVOKED");
    await assert.rejects(logic.refresh(second.refreshToken ?? ""), "the thief's copy dies with the session");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(revoked.length, before + 1, "sessions.revoked was broadcast");
    assert.ok((await logic.activeRevocations()).length >= 1);
  });

  it("a role change revokes the user's sessions (their tokens carry the old role)", async () => {
    const s = await logic.login("patient", "patient password 1");
    const before = revoked.length;
    const user = await logic.setRole(s.user.id, "creator");
    assert.equal(user.role, "creator");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(revoked.length, before + 1);
    await assert.rejects(logic.refresh(s.refreshToken ?? ""));
  });

  it("a wrong password and an unknown user get the same answer", async () => {
    const wrong = await logic.login("patient", "nope nope nope").catch((e: unknown) => e as { type?: string; message?: string });
    const unknown = await logic.login("nobody", "nope nope nope").catch((e: unknown) => e as { type?: string; message?: string });
    assert.equal((wrong as { type?: string }).type, "BAD_CREDENTIALS");
    assert.deepEqual([(wrong as { message?: string }).message, (wrong as { type?: string }).type], [(unknown as { message?: string }).message, (unknown as { type?: string }).type]);
  });

  it("names unknown users when grants are resolved", async () => {
    assert.deepEqual((await logic.resolveUsers(["Patient"])).map((u) => u.username), ["patient"]);
    await assert.rejects(logic.resolveUsers(["patient", "ghost"]), /ghost/);
  });
});
