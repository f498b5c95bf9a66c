/**
 * Accounts, tokens and revocation as the sessions actor holds them, on the real sqlite store
 * and a real (in-process) Moleculer broker that hears the revocations it broadcasts.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config.js";
import { AppError } from "../../lib/errors.js";
import type { Revocation } from "../../lib/revocations.js";
import { SqliteStore } from "../../store/store-sqlite.js";
import { SessionsLogic } from "./sessions-logic.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "esh-sessions-"));
const store = new SqliteStore(path.join(dir, "s.sqlite"));
const broker = new ServiceBroker({ logger: false, nodeID: "sessions-test" });
const revoked: Revocation[][] = [];
let logic: SessionsLogic;
let open: SessionsLogic;
/** With a 2 s refresh reuse grace (the default is 20 s), and with none. */
let graceful: SessionsLogic;
let strict: SessionsLogic;
/** The store, with its reads failing (UNAVAILABLE) while `storeDown` is set. */
let storeDown = false;
const downable = new Proxy(store, {
  get(target, prop, receiver) {
    if (prop === "get" && storeDown) return () => Promise.reject(new AppError("UNAVAILABLE", "store unavailable: test"));
    const v: unknown = Reflect.get(target, prop, receiver);
    return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  },
});

before(async () => {
  broker.createService({ name: "listener", events: { "sessions.revoked": { handler: (ctx: { params: { list: Revocation[] } }) => void revoked.push(ctx.params.list) } } });
  await broker.start();
  logic = new SessionsLogic(loadConfig({ ESH_AUTH_SCRYPT_COST: "1024", DATA_DIR: dir }), store, broker);
  await logic.start();
  open = new SessionsLogic(loadConfig({ ESH_AUTH_SCRYPT_COST: "1024", DATA_DIR: dir, ESH_AUTH_OPEN_CREATOR_SIGNUP: "true" }), store, broker);
  await open.start();
  graceful = new SessionsLogic(loadConfig({ ESH_AUTH_SCRYPT_COST: "1024", DATA_DIR: dir, ESH_AUTH_REFRESH_REUSE_GRACE_SEC: "2" }), downable, broker);
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

  it("with no reuse grace, of two refreshes with one token exactly one wins; the other is refused (CONFLICT when they raced, a reuse when it came after)", async () => {
    const s = await strict.login("patient", "patient password 1");
    const both = await Promise.allSettled([strict.refresh(s.refreshToken ?? ""), strict.refresh(s.refreshToken ?? "")]);
    assert.equal(both.filter((r) => r.status === "fulfilled").length, 1);
    const lost = both.find((r) => r.status === "rejected");
    const code = lost?.status === "rejected" ? ((lost.reason as { type?: string }).type ?? "") : "";
    assert.ok(["CONFLICT", "TOKEN_REVOKED"].includes(code), code);
    const won = both.find((r) => r.status === "fulfilled");
    const next = won?.status === "fulfilled" ? (won.value.refreshToken ?? "") : "";
    // CONFLICT leaves the winner's session alive; a reuse ended it.
    const after = await strict.refresh(next).then(() => "alive", (err: unknown) => (err as { type?: string }).type);
    assert.equal(after, code === "CONFLICT" ? "alive" : "TOKEN_REVOKED");
  });

  it("a secret the session never issued (ids read from a JWT, a secret made up) is refused and ends nothing", async () => {
    const s = await strict.login("patient", "patient password 1");
    const [userId, sid] = (s.refreshToken ?? "").split(".");
    const before = revoked.length;
    for (const forged of [randomBytes(32).toString("base64url"), "x".repeat(43), "short"]) {
      await assert.rejects(strict.refresh(`${userId ?? ""}.${sid ?? ""}.${forged}`), (err: { type?: string }) => err.type === "UNAUTHENTICATED");
      await assert.rejects(strict.logout(undefined, `${userId ?? ""}.${sid ?? ""}.${forged}`), (err: { type?: string }) => err.type === "UNAUTHENTICATED");
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(revoked.length, before, "nothing revoked");
    assert.ok((await strict.refresh(s.refreshToken ?? "")).refreshToken, "the session lives on");
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
    await new Promise((r) => setTimeout(r, 2100));
    const before = revoked.length;
    // Past the grace, the first token again: copied. The session ends, the newest token with it.
    await assert.rejects(graceful.refresh(first.refreshToken ?? ""), (err: { type?: string }) => err.type === "TOKEN_REVOKED");
    await assert.rejects(graceful.refresh(last.refreshToken ?? ""), (err: { type?: string }) => err.type === "TOKEN_REVOKED");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(revoked.length, before + 1, "sessions.revoked was broadcast");
  });

  it("a thief cannot keep a stolen token's grace alive by presenting it again and again", async () => {
    const owner = await graceful.login("patient", "patient password 1");
    const stolen = owner.refreshToken ?? "";
    await graceful.refresh(stolen); // the owner refreshes: `stolen` is in its 2 s grace
    const started = Date.now();
    // Presented every 400 ms, each time honoured, until 2 s after it was superseded: then refused.
    let refusedAt = 0;
    while (Date.now() - started < 4000) {
      const r = await graceful.refresh(stolen).catch((err: unknown) => err as { type?: string });
      if ("type" in r) {
        assert.equal(r.type, "TOKEN_REVOKED");
        refusedAt = Date.now() - started;
        break;
      }
      await new Promise((res) => setTimeout(res, 400));
    }
    assert.ok(refusedAt >= 1900 && refusedAt < 3000, `the grace ran from the owner's refresh, not from each presentation: refused at ${String(refusedAt)} ms`);
  });

  it("a thief who refreshes past the history cannot leave the owner merely 'invalid': the owner's next refresh ends the thief's branch too", async () => {
    const owner = await strict.login("patient", "patient password 1");
    let thief = await strict.refresh(owner.refreshToken ?? ""); // stolen and used first
    for (let i = 0; i < 12; i++) thief = await strict.refresh(thief.refreshToken ?? ""); // the owner's secret leaves the history
    const before = revoked.length;
    await assert.rejects(strict.refresh(owner.refreshToken ?? ""), (err: { type?: string }) => err.type === "TOKEN_REVOKED");
    await assert.rejects(strict.refresh(thief.refreshToken ?? ""), (err: { type?: string }) => err.type === "TOKEN_REVOKED", "the stolen branch is over");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(revoked.length, before + 1, "revoked on every node");
  });

  it("logout with the refresh token ends its session; a store that cannot answer is an error, not 'nothing to log out'", async () => {
    const s = await graceful.login("patient", "patient password 1");
    storeDown = true;
    await assert.rejects(graceful.logout(undefined, s.refreshToken), (err: { type?: string }) => err.type === "UNAVAILABLE");
    storeDown = false;
    assert.deepEqual(await graceful.logout(undefined, s.refreshToken), { revoked: 1 });
    await assert.rejects(graceful.refresh(s.refreshToken ?? ""), (err: { type?: string }) => err.type === "TOKEN_REVOKED");
    await assert.rejects(graceful.logout(undefined, s.refreshToken), (err: { type?: string }) => err.type === "UNAUTHENTICATED", "already over: nothing to log out");
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
