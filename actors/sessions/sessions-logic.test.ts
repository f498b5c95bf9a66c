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
/** With a 1 s refresh reuse grace (the default is 20 s), and with none. */
let graceful: SessionsLogic;
let strict: SessionsLogic;

before(async () => {
  broker.createService({ name: "listener", events: { "sessions.revoked": { handler: (ctx: { params: { list: Revocation[] } }) => void revoked.push(ctx.params.list) } } });
  await broker.start();
  logic = new SessionsLogic(loadConfig({ ESH_AUTH_SCRYPT_COST: "1024", DATA_DIR: dir }), store, broker);
  await logic.start();
  open = new SessionsLogic(loadConfig({ ESH_AUTH_SCRYPT_COST: "1024", DATA_DIR: dir, ESH_AUTH_OPEN_CREATOR_SIGNUP: "true" }), store, broker);
  await open.start();
  graceful = new SessionsLogic(loadConfig({ ESH_AUTH_SCRYPT_COST: "1024", DATA_DIR: dir, ESH_AUTH_REFRESH_REUSE_GRACE_SEC: "1" }), store, broker);
  await graceful.start();
  strict = new SessionsLogic(loadConfig({ ESH_AUTH_SCRYPT_COST: "1024", DATA_DIR: dir, ESH_AUTH_REFRESH_REUSE_GRACE_SEC: "0" }), store, broker);
  await strict.start();
});

after(async () => {
  for (const l of [logic, open, graceful, strict]) l.stop();
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
    const first = await strict.login("patient", "patient password 1");
    const second = await strict.refresh(first.refreshToken ?? "");
    assert.notEqual(second.refreshToken, first.refreshToken);
    const before = revoked.length;
    await assert.rejects(strict.refresh(first.refreshToken ?? ""), (err: { type?: string }) => err.type === "TOKEN_REVOKED");
    await assert.rejects(strict.refresh(second.refreshToken ?? ""), "the thief's copy dies with the session");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(revoked.length, before + 1, "sessions.revoked was broadcast");
    assert.ok((await strict.activeRevocations()).length >= 1);
  });

  it("with no reuse grace, of two refreshes with one token exactly one wins; the other gets CONFLICT", async () => {
    const s = await strict.login("patient", "patient password 1");
    const both = await Promise.allSettled([strict.refresh(s.refreshToken ?? ""), strict.refresh(s.refreshToken ?? "")]);
    assert.equal(both.filter((r) => r.status === "fulfilled").length, 1);
    const lost = both.find((r) => r.status === "rejected");
    assert.ok(lost?.status === "rejected" && ["CONFLICT", "TOKEN_REVOKED"].includes((lost.reason as { type?: string }).type ?? ""));
  });

  it("within the reuse grace a superseded token rotates again (a lost answer, tabs refreshing together); past it, it is a reuse and ends the session", async () => {
    const first = await graceful.login("patient", "patient password 1");
    const second = await graceful.refresh(first.refreshToken ?? "");
    // The answer to that refresh was lost: the client presents the first token again.
    const again = await graceful.refresh(first.refreshToken ?? "");
    assert.ok(![first.refreshToken, second.refreshToken].includes(again.refreshToken), "a new token, not a copy of one given before");
    // Four tabs at once with the newest token: each gets a token of the same session.
    const tabs = await Promise.all([1, 2, 3, 4].map(() => graceful.refresh(again.refreshToken ?? "")));
    assert.equal(new Set(tabs.map((t) => t.refreshToken)).size, 4);
    const last = await graceful.refresh(tabs[3]?.refreshToken ?? "");
    await new Promise((r) => setTimeout(r, 1100));
    const before = revoked.length;
    // Past the grace, the first token again: copied. The session ends, the newest token with it.
    await assert.rejects(graceful.refresh(first.refreshToken ?? ""), (err: { type?: string }) => err.type === "TOKEN_REVOKED");
    await assert.rejects(graceful.refresh(last.refreshToken ?? ""), (err: { type?: string }) => err.type === "TOKEN_REVOKED");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(revoked.length, before + 1, "sessions.revoked was broadcast");
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
