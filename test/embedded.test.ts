/**
 * The embedded platform end to end: one real node process (all actors, sqlite store, uWS),
 * driven over HTTP and WebSocket like a client would.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { Packr } from "msgpackr";
import { api, metricsText, PlatformNode } from "../tools/harness/node.js";
import { WsClient } from "../tools/harness/ws-client.js";

const ADMIN = { username: "root", password: "root-password-1" };
let node: PlatformNode;
const NODE_ENV_VARS = { ADMIN_USER: "root", ADMIN_PASSWORD: "root-password-1", ESH_GATEWAY_AUTH_BURST_PER_IP: "60", ESH_GATEWAY_AUTH_RATE_PER_IP: "1", ESH_GATEWAY_WS_BURST: "40", ESH_GATEWAY_WS_FLOOD_CLOSE_AFTER: "20", ESH_GATEWAY_MAX_FRAME_BYTES: "8192", ESH_GATEWAY_MAX_BODY_BYTES: "4096", ESH_GATEWAY_HTTP_BURST_PER_IP: "2000", ESH_GATEWAY_HTTP_BURST_PER_USER: "20", ESH_AUTH_REFRESH_REUSE_GRACE_SEC: "1" };
let base: string;

type Tokens = { accessToken: string; refreshToken: string; user: { id: string; role: string } };

async function register(username: string, role?: "creator"): Promise<Tokens> {
  const r = await api(base, "POST", "/api/auth/register", { username, password: "correct horse battery", ...(role ? { role } : {}) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as unknown as Tokens;
}

async function login(username: string, password: string): Promise<Tokens> {
  const r = await api(base, "POST", "/api/auth/login", { username, password });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as unknown as Tokens;
}

const code = (r: { body: Record<string, unknown> }) => (r.body.error as { code?: string } | undefined)?.code;

before(async () => {
  node = await PlatformNode.start({
    env: NODE_ENV_VARS,
  });
  base = node.url;
});

after(async () => {
  await node.stop();
});

describe("embedded platform: system endpoints", () => {
  it("is live and ready, logs which uWS loaded, serves metrics and OpenAPI", async () => {
    assert.equal((await api(base, "GET", "/healthz")).status, 200);
    const ready = await api(base, "GET", "/readyz");
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.match(node.output, /"module":"gateway".*uWebSockets\.js native \(uws_linux_\w+_115\.node\)/);
    const metrics = await metricsText(base);
    assert.match(metrics, /# TYPE moleculer_request_total counter/);
    assert.match(metrics, /esh_gateway_ws_connections\{node_id="[^"]+"\} \d+/);
    const doc = await api(base, "GET", "/api/openapi.json");
    assert.equal(doc.body.openapi, "3.1.0");
    assert.ok((doc.body.paths as Record<string, unknown>)["/api/streams/{id}"]);
  });

  it("answers 404 for unknown routes and 405 with Allow for wrong methods", async () => {
    const r = await api(base, "GET", "/api/nothing");
    assert.equal(r.status, 404);
    assert.equal(code(r), "NOT_FOUND");
    const m = await api(base, "PUT", "/api/auth/login", {});
    assert.equal(m.status, 405);
    assert.equal(m.headers.get("allow"), "POST");
  });

  it("path tricks never escape web/", async () => {
    for (const p of ["/../package.json", "/%2e%2e/package.json", "/..%2fpackage.json", "/web/..%2f..%2fetc%2fpasswd", "/%00index.html", "/.git/config", "/..\\package.json", "/%c0%ae%c0%ae/package.json"]) {
      const res = await rawGet(p);
      assert.match(res, /^HTTP\/1\.1 (404|400)/, `${p} -> ${res.slice(0, 40)}`);
      assert.doesNotMatch(res, /"name": "echostreamhub"|\[core\]/);
    }
    const index = await fetch(`${base}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get("content-type") ?? "", /text\/html/);
  });

  it("answers CORS preflights for allowed origins", async () => {
    const res = await fetch(`${base}/api/streams`, { method: "OPTIONS", headers: { origin: "https://player.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.match(res.headers.get("access-control-allow-headers") ?? "", /authorization/);
  });
});

describe("embedded platform: accounts and tokens", () => {
  it("registers, logs in, tells who I am; wrong passwords and duplicates are typed errors", async () => {
    const t = await register("alice");
    assert.equal(t.user.role, "viewer");
    const me = await api(base, "GET", "/api/auth/me", undefined, t.accessToken);
    assert.equal((me.body.user as { username: string }).username, "alice");
    assert.equal(code(await api(base, "POST", "/api/auth/register", { username: "ALICE", password: "another password" })), "CONFLICT");
    const bad = await api(base, "POST", "/api/auth/login", { username: "alice", password: "wrong password" });
    assert.equal(bad.status, 401);
    assert.equal(code(bad), "BAD_CREDENTIALS");
    assert.equal(code(await api(base, "POST", "/api/auth/login", { username: "nobody", password: "whatever1" })), "BAD_CREDENTIALS");
    await login("Alice", "correct horse battery");
  });

  it("refresh rotates; reusing an old refresh token (past the reuse grace) revokes the session everywhere", async () => {
    const t = await register("bob");
    const r1 = await api(base, "POST", "/api/auth/refresh", { refreshToken: t.refreshToken });
    assert.equal(r1.status, 200);
    const next = r1.body as unknown as Tokens;
    assert.notEqual(next.refreshToken, t.refreshToken);
    assert.equal((await api(base, "GET", "/api/auth/me", undefined, next.accessToken)).status, 200);
    // Past the reuse grace (1 s here, 20 s by default: a lost answer is asked again inside it).
    await new Promise((r) => setTimeout(r, 1100));
    const reuse = await api(base, "POST", "/api/auth/refresh", { refreshToken: t.refreshToken });
    assert.equal(code(reuse), "TOKEN_REVOKED");
    assert.equal(code(await api(base, "GET", "/api/auth/me", undefined, next.accessToken)), "TOKEN_REVOKED");
    assert.equal(code(await api(base, "POST", "/api/auth/refresh", { refreshToken: next.refreshToken })), "TOKEN_REVOKED");
    assert.equal(code(await api(base, "POST", "/api/auth/refresh", { refreshToken: "x.y.zzzzzzzzzzzzzz" })), "TOKEN_REVOKED");
    assert.equal(code(await api(base, "POST", "/api/auth/refresh", { refreshToken: "not-a-token-at-all" })), "UNAUTHENTICATED");
  });

  it("logout revokes the access token and the refresh token", async () => {
    const t = await register("carol");
    const out = await api(base, "POST", "/api/auth/logout", { refreshToken: t.refreshToken }, t.accessToken);
    assert.equal(out.status, 200, JSON.stringify(out.body));
    assert.equal(code(await api(base, "GET", "/api/auth/me", undefined, t.accessToken)), "TOKEN_REVOKED");
    assert.equal(code(await api(base, "POST", "/api/auth/refresh", { refreshToken: t.refreshToken })), "TOKEN_REVOKED");
  });

  it("missing, malformed and forged tokens get UNAUTHENTICATED", async () => {
    assert.equal(code(await api(base, "GET", "/api/auth/me")), "UNAUTHENTICATED");
    assert.equal(code(await api(base, "GET", "/api/auth/me", undefined, "garbage")), "UNAUTHENTICATED");
    assert.equal(code(await api(base, "GET", "/api/auth/me", undefined, undefined, { authorization: "Basic abc" })), "UNAUTHENTICATED");
    const t = await register("mallory");
    const [h, p, s] = t.accessToken.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    const forged = [h, Buffer.from(JSON.stringify({ ...claims, role: "admin" })).toString("base64url"), s].join(".");
    const r = await api(base, "GET", "/api/admin/users", undefined, forged);
    assert.equal(r.status, 401);
    assert.equal(code(r), "UNAUTHENTICATED");
  });

  it("guest tokens watch but cannot act as accounts", async () => {
    const g = await api(base, "POST", "/api/auth/guest");
    assert.equal(g.status, 200);
    const token = g.body.accessToken as string;
    assert.equal((await api(base, "GET", "/api/streams", undefined, token)).status, 200);
    const me = await api(base, "GET", "/api/auth/me", undefined, token);
    assert.equal((me.body.principal as { guest: boolean }).guest, true);
    assert.equal(code(await api(base, "POST", "/api/streams", { title: "x", kind: "live" }, token)), "FORBIDDEN");
  });

  it("signing-key rotation logs nobody out", async () => {
    const admin = await login(ADMIN.username, ADMIN.password);
    const viewer = await register("dave");
    const kidOf = (tok: string) => (JSON.parse(Buffer.from(tok.split(".")[0]!, "base64url").toString()) as { kid: string }).kid;
    const rot = await api(base, "POST", "/api/admin/keys/rotate", undefined, admin.accessToken);
    assert.equal(rot.status, 200, JSON.stringify(rot.body));
    assert.equal((await api(base, "GET", "/api/auth/me", undefined, viewer.accessToken)).status, 200, "old token still valid");
    const fresh = await api(base, "POST", "/api/auth/refresh", { refreshToken: viewer.refreshToken });
    assert.equal(kidOf(fresh.body.accessToken as string), rot.body.kid);
    assert.notEqual(kidOf(viewer.accessToken), rot.body.kid);
    assert.equal((await api(base, "GET", "/api/auth/me", undefined, fresh.body.accessToken as string)).status, 200);
  });
});

describe("embedded platform: roles on every action", () => {
  it("viewers cannot create streams or call admin actions; creators own their streams; admins may change any", async () => {
    const viewer = await register("erin");
    const creator = await register("frank", "creator");
    const other = await register("grace", "creator");
    const admin = await login(ADMIN.username, ADMIN.password);
    assert.equal(code(await api(base, "POST", "/api/streams", { title: "mine", kind: "live" }, viewer.accessToken)), "FORBIDDEN");
    for (const [m, p] of [["GET", "/api/admin/users"], ["POST", "/api/admin/keys/rotate"], ["POST", `/api/admin/users/${viewer.user.id}/revoke`]] as const) {
      assert.equal(code(await api(base, m, p, undefined, viewer.accessToken)), "FORBIDDEN", p);
      assert.equal(code(await api(base, m, p, undefined, creator.accessToken)), "FORBIDDEN", p);
    }
    const created = await api(base, "POST", "/api/streams", { title: "Frank live", kind: "live" }, creator.accessToken);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assert.equal((await api(base, "GET", `/api/rooms/${id}`)).status, 200, "a stream comes with its room");
    assert.equal(code(await api(base, "PATCH", `/api/streams/${id}`, { title: "hijack" }, other.accessToken)), "FORBIDDEN");
    assert.equal((await api(base, "PATCH", `/api/streams/${id}`, { title: "renamed" }, creator.accessToken)).body.title, "renamed");
    assert.equal((await api(base, "PATCH", `/api/streams/${id}`, { title: "by admin" }, admin.accessToken)).body.title, "by admin");
    assert.equal(code(await api(base, "PATCH", `/api/streams/${id}`, { title: "" }, creator.accessToken)), "BAD_REQUEST");
    const list = await fetch(`${base}/api/streams?limit=5`).then((r) => r.json() as Promise<{ id: string }[]>);
    assert.ok(list.some((s) => s.id === id));
    assert.equal((await api(base, "DELETE", `/api/streams/${id}`, undefined, creator.accessToken)).status, 200);
    assert.equal(code(await api(base, "GET", `/api/rooms/${id}`)), "NOT_FOUND");
  });

  it("an admin promotes a viewer; the old token stops working, the new login carries the role", async () => {
    const admin = await login(ADMIN.username, ADMIN.password);
    const v = await register("heidi");
    const r = await api(base, "POST", `/api/admin/users/${v.user.id}/role`, { role: "creator" }, admin.accessToken);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(code(await api(base, "GET", "/api/auth/me", undefined, v.accessToken)), "TOKEN_REVOKED");
    const again = await login("heidi", "correct horse battery");
    assert.equal((await api(base, "POST", "/api/streams", { title: "now I can", kind: "vod" }, again.accessToken)).status, 201);
  });
});

describe("embedded platform: bad HTTP input", () => {
  it("malformed JSON, wrong content type, oversized bodies and schema violations are typed errors", async () => {
    const raw = (body: string, type = "application/json") => fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": type }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    const m = await raw("{oops");
    assert.equal(m.status, 400);
    assert.equal(code(m), "BAD_REQUEST");
    assert.equal((await raw("username=a", "application/x-www-form-urlencoded")).status, 415);
    const big = await raw(JSON.stringify({ username: "x", password: "y".repeat(10_000) }));
    assert.equal(big.status, 413);
    assert.equal(code(big), "PAYLOAD_TOO_LARGE");
    const invalid = await raw(JSON.stringify({ username: "a b", password: 5 }));
    assert.equal(code(invalid), "BAD_REQUEST");
    assert.ok(Array.isArray((invalid.body.error as { data: { errors: unknown[] } }).data.errors));
    assert.equal((await api(base, "GET", "/healthz")).status, 200, "still alive");
  });
});

describe("embedded platform: WebSocket", () => {
  it("refuses upgrades without a valid token", async () => {
    await assert.rejects(WsClient.connect(node.wsUrl), { status: 401 });
    await assert.rejects(WsClient.connect(node.wsUrl, { token: "forged.token.here" }), { status: 401 });
  });

  it("speaks msgpack (query token) and JSON (bearer header) and answers by request id", async () => {
    const t = await register("ivan");
    const c = await WsClient.connect(node.wsUrl, { token: t.accessToken });
    const hello = await c.next((f) => f.t === "hello");
    assert.equal((hello.d as { userId: string }).userId, t.user.id);
    const pong = await c.request("ping", { ts: 42 });
    assert.equal(pong.t, "ok");
    assert.equal((pong.d as { ts: number }).ts, 42);
    const j = await WsClient.connect(node.wsUrl, { token: t.accessToken, header: true, json: true });
    const who = await j.request("whoami");
    assert.equal((who.d as { userId: string }).userId, t.user.id);
    const list = await j.request("streams.list", { limit: 3 });
    assert.equal(list.t, "ok");
    assert.ok(Array.isArray(list.d));
    c.close();
    j.close();
  });

  it("unknown types and bad payloads are errors on the same socket; repeated garbage closes it with 4500", async () => {
    const t = await register("judy");
    const c = await WsClient.connect(node.wsUrl, { token: t.accessToken });
    const unknown = await c.request("teleport", {});
    assert.deepEqual([unknown.t, (unknown.d as { code: string }).code], ["error", "UNKNOWN_TYPE"]);
    const bad = await c.request("streams.get", { id: "../../etc" });
    assert.equal((bad.d as { code: string }).code, "BAD_REQUEST");
    const extra = await c.request("ping", { ts: 1, evil: true });
    assert.equal((extra.d as { code: string }).code, "BAD_REQUEST");
    for (let i = 0; i < 5; i++) c.sendRaw(Buffer.from([0xc1, 0xc1]));
    await c.next((f) => f.t === "error" && (f.d as { code: string }).code === "MALFORMED_FRAME");
    assert.equal(await c.closed(), 4500);
  });

  it("an oversized frame drops the connection (uWS closes at once: 1006/1009); the server keeps serving", async () => {
    const t = await register("ken");
    const c = await WsClient.connect(node.wsUrl, { token: t.accessToken });
    c.sendRaw(new Packr({ useRecords: false }).pack({ t: "ping", d: { pad: "x".repeat(20_000) } }));
    assert.ok([1006, 1009].includes(await c.closed()));
    const again = await WsClient.connect(node.wsUrl, { token: t.accessToken });
    assert.equal((await again.request("ping")).t, "ok");
    again.close();
  });

  it("a flood gets RATE_LIMITED, then the socket is closed with 4002", async () => {
    const t = await register("leo");
    const c = await WsClient.connect(node.wsUrl, { token: t.accessToken });
    for (let i = 0; i < 200; i++) c.send("ping");
    await c.next((f) => f.t === "error" && (f.d as { code: string }).code === "RATE_LIMITED");
    assert.equal(await c.closed(), 4002);
  });

  it("logging out closes the session's WebSockets with 4501", async () => {
    const t = await register("mia");
    const c = await WsClient.connect(node.wsUrl, { token: t.accessToken });
    await c.next((f) => f.t === "hello");
    await api(base, "POST", "/api/auth/logout", {}, t.accessToken);
    assert.equal(await c.closed(), 4501);
    await assert.rejects(WsClient.connect(node.wsUrl, { token: t.accessToken }), { status: 401 });
  });
});

describe("embedded platform: persistence and drain", () => {
  it("users and streams survive a restart; SIGTERM tells WebSockets to reconnect elsewhere (4000)", async () => {
    const creator = await register("nina", "creator");
    const s = await api(base, "POST", "/api/streams", { title: "survives", kind: "vod" }, creator.accessToken);
    const c = await WsClient.connect(node.wsUrl, { token: creator.accessToken });
    await c.next((f) => f.t === "hello");
    const dataDir = node.dataDir;
    const exit = node.proc.exitCode;
    assert.equal(exit, null);
    node.proc.kill("SIGTERM");
    assert.equal(await c.closed(), 4000);
    assert.equal(await node.exited(), 0);
    assert.match(node.output, /drained \(1 WebSocket/);
    node = await PlatformNode.start({ dataDir, env: NODE_ENV_VARS });
    base = node.url;
    const again = await login("nina", "correct horse battery");
    assert.equal((await api(base, "GET", `/api/streams/${s.body.id as string}`, undefined, again.accessToken)).body.title, "survives");
  });
});

describe("embedded platform: limits", () => {
  it("one user's request flood gets 429 per user while another user is served", async () => {
    const greedy = await login("nina", "correct horse battery");
    const other = await register("oscar");
    const results = await Promise.all(Array.from({ length: 60 }, () => api(base, "GET", "/api/auth/me", undefined, greedy.accessToken)));
    const limited = results.filter((r) => r.status === 429);
    assert.ok(limited.length > 0 && limited.length < 60, `${limited.length} limited`);
    assert.ok(Number(limited[0]!.headers.get("retry-after")) >= 1);
    assert.equal((await api(base, "GET", "/api/auth/me", undefined, other.accessToken)).status, 200, "another user is not limited");
  });

  it("a login flood from one IP gets 429 with Retry-After, and the node keeps serving", async () => {
    const results = await Promise.all(Array.from({ length: 80 }, () => api(base, "POST", "/api/auth/login", { username: "nobody", password: "whatever1" })));
    const limited = results.filter((r) => r.status === 429);
    assert.ok(limited.length > 0, "some were limited");
    assert.equal(code(limited[0]!), "RATE_LIMITED");
    assert.ok(Number(limited[0]!.headers.get("retry-after")) >= 1);
    assert.equal((await api(base, "GET", "/healthz")).status, 200);
  });
});

function rawGet(p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(node.port, "127.0.0.1", () => sock.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let data = "";
    sock.on("data", (c: Buffer) => (data += c.toString()));
    sock.on("end", () => resolve(data));
    sock.on("error", reject);
  });
}
