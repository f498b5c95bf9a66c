/**
 * Token expiry end to end, with tokens signed by the node's real signing key (read from its
 * sqlite store, as an attacker with a stolen key could not do without it): expired tokens are
 * refused at HTTP and at the WebSocket upgrade, and a connection whose token expires is closed
 * with 4003. Also: SIGTERM lets in-flight requests finish.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { JWK } from "jose";
import { signAccessToken } from "../lib/tokens.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { WsClient } from "../tools/harness/ws-client.js";

let node: PlatformNode;

function activeKey(): { kid: string; privateJwk: JWK } {
  const db = new Database(path.join(node.dataDir, "store.sqlite"), { readonly: true });
  const row = db.prepare<[], { value: string }>("SELECT value FROM kv WHERE collection = 'signing_keys' ORDER BY key LIMIT 1").get();
  db.close();
  assert.ok(row, "the sessions actor created a signing key");
  return JSON.parse(row.value) as { kid: string; privateJwk: JWK };
}

before(async () => {
  node = await PlatformNode.start();
});

after(async () => {
  await node.stop("SIGKILL");
});

describe("token expiry end to end", () => {
  it("an expired token gets TOKEN_EXPIRED over HTTP and a 401 at the WebSocket upgrade", async () => {
    const r = await api(node.url, "POST", "/api/auth/register", { username: "expiring", password: "correct horse battery" });
    const user = r.body.user as { id: string };
    const key = activeKey();
    const { token } = await signAccessToken({ userId: user.id, name: "expiring", role: "viewer", guest: false, sid: "s-exp" }, -5, key.kid, key.privateJwk);
    const me = await api(node.url, "GET", "/api/auth/me", undefined, token);
    assert.equal(me.status, 401);
    assert.equal((me.body.error as { code: string }).code, "TOKEN_EXPIRED");
    await assert.rejects(WsClient.connect(node.wsUrl, { token }), (err: { status: number; body: string }) => err.status === 401 && err.body.includes("TOKEN_EXPIRED"));
  });

  it("a WebSocket whose token expires is closed with 4003 unless it re-authenticates", async () => {
    const key = activeKey();
    const p = { userId: "u-short", name: "short", role: "viewer" as const, guest: false, sid: "s-short" };
    const short = await signAccessToken(p, 2, key.kid, key.privateJwk);
    const c = await WsClient.connect(node.wsUrl, { token: short.token });
    const renewed = await WsClient.connect(node.wsUrl, { token: short.token });
    const longer = await signAccessToken(p, 60, key.kid, key.privateJwk);
    assert.equal((await renewed.request("auth", { token: longer.token })).t, "ok");
    const other = await signAccessToken({ ...p, userId: "someone-else" }, 60, key.kid, key.privateJwk);
    assert.equal(((await renewed.request("auth", { token: other.token })).d as { code: string }).code, "FORBIDDEN");
    assert.equal(await c.closed(8000), 4003);
    assert.equal((await renewed.request("ping")).t, "ok", "the re-authenticated socket stays open");
    renewed.close();
  });
});

describe("drain", () => {
  it("SIGTERM lets requests already in flight finish", async () => {
    const slow = await PlatformNode.start({ env: { ESH_AUTH_SCRYPT_COST: "131072" } }); // ~0.3 s per hash: requests stay in flight
    const pending = [1, 2, 3].map((i) => api(slow.url, "POST", "/api/auth/register", { username: `inflight${i}`, password: "correct horse battery" }));
    await new Promise((r) => setTimeout(r, 100));
    slow.proc.kill("SIGTERM");
    const results = await Promise.all(pending);
    assert.deepEqual(results.map((r) => r.status), [201, 201, 201]);
    assert.equal(await slow.exited(), 0);
    await slow.stop();
  });
});
