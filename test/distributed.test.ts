/**
 * Distributed mode over a real nats-server (JetStream on): actors on one node, two gateway
 * nodes, the JetStream KV store. Faults: a NATS restart, kill -9 of a gateway, kill -9 of an
 * actor node while a second one runs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { WsClient } from "../tools/harness/ws-client.js";

const ADMIN = { ADMIN_USER: "root", ADMIN_PASSWORD: "root-password-1" };
// Fast failure detection so the fault tests take seconds, not the production 15 s.
const FAST = { ESH_BROKER_HEARTBEAT_INTERVAL_SEC: "1", ESH_BROKER_HEARTBEAT_TIMEOUT_SEC: "3", ESH_BROKER_REQUEST_TIMEOUT_MS: "3000", ESH_GATEWAY_AUTH_BURST_PER_IP: "200" };

let nats: NatsServer;
let actors: PlatformNode;
let gwA: PlatformNode;
let gwB: PlatformNode;
const extra: PlatformNode[] = [];

type Tokens = { accessToken: string; refreshToken: string; user: { id: string } };
const code = (r: { body: Record<string, unknown> }) => (r.body.error as { code?: string } | undefined)?.code;

async function register(base: string, username: string, role?: string): Promise<Tokens> {
  const r = await api(base, "POST", "/api/auth/register", { username, password: "correct horse battery", ...(role ? { role } : {}) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as unknown as Tokens;
}

before(async () => {
  nats = await NatsServer.start();
  actors = await PlatformNode.start({ services: "sessions,streams,rooms", natsUrl: nats.url, env: { ...ADMIN, ...FAST, NODE_ID: "actors-1" } });
  gwA = await PlatformNode.start({ services: "gateway", natsUrl: nats.url, env: { ...FAST, NODE_ID: "gateway-a" } });
  gwB = await PlatformNode.start({ services: "gateway", natsUrl: nats.url, env: { ...FAST, NODE_ID: "gateway-b" } });
  // Broadcasts reach the nodes a node knows; wait until the actors have discovered both gateways.
  await waitFor("actors to discover the gateways", () => (/Node 'gateway-a' connected/.test(actors.output) && /Node 'gateway-b' connected/.test(actors.output)) || undefined);
});

after(async () => {
  for (const n of [gwA, gwB, actors, ...extra]) await n.stop("SIGKILL");
  await nats.dispose();
});

describe("distributed: nodes over NATS", () => {
  it("runs the gateway on one node and sessions on another, with the JetStream store", async () => {
    assert.match(actors.output, /distributed over NATS nats:\/\/127\.0\.0\.1:\d+; store jetstream/);
    assert.doesNotMatch(gwA.output, /SESSIONS/);
    const t = await register(gwA.url, "olga", "creator");
    const login = await api(gwB.url, "POST", "/api/auth/login", { username: "olga", password: "correct horse battery" });
    assert.equal(login.status, 200);
    const me = await api(gwA.url, "GET", "/api/auth/me", undefined, login.body.accessToken as string);
    assert.equal((me.body.user as { id: string }).id, t.user.id);
    const s = await api(gwB.url, "POST", "/api/streams", { title: "over nats", kind: "live" }, t.accessToken);
    assert.equal(s.status, 201);
    assert.equal((await api(gwA.url, "GET", `/api/streams/${s.body.id as string}`)).body.title, "over nats");
    const viewer = await register(gwB.url, "pavel");
    assert.equal(code(await api(gwA.url, "POST", "/api/streams", { title: "no", kind: "live" }, viewer.accessToken)), "FORBIDDEN");
  });

  it("a logout on one gateway revokes the session on every gateway and closes its WebSockets", async () => {
    const t = await register(gwA.url, "quinn");
    const onA = await WsClient.connect(gwA.wsUrl, { token: t.accessToken });
    const onB = await WsClient.connect(gwB.wsUrl, { token: t.accessToken });
    await onA.next((f) => f.t === "hello");
    await onB.next((f) => f.t === "hello");
    assert.equal((await api(gwB.url, "POST", "/api/auth/logout", {}, t.accessToken)).status, 200);
    assert.equal(await onA.closed(), 4501);
    assert.equal(await onB.closed(), 4501);
    assert.equal(code(await api(gwA.url, "GET", "/api/auth/me", undefined, t.accessToken)), "TOKEN_REVOKED");
  });

  it("a key rotation reaches every gateway; old tokens keep working", async () => {
    const admin = await api(gwA.url, "POST", "/api/auth/login", { username: "root", password: ADMIN.ADMIN_PASSWORD });
    const user = await register(gwB.url, "rita");
    const rot = await api(gwA.url, "POST", "/api/admin/keys/rotate", undefined, admin.body.accessToken as string);
    assert.equal(rot.status, 200, JSON.stringify(rot.body));
    const fresh = await api(gwA.url, "POST", "/api/auth/refresh", { refreshToken: user.refreshToken });
    assert.equal((await api(gwB.url, "GET", "/api/auth/me", undefined, fresh.body.accessToken as string)).status, 200);
    assert.equal((await api(gwB.url, "GET", "/api/auth/me", undefined, user.accessToken)).status, 200);
  });
});

describe("distributed: faults", () => {
  it("survives a NATS restart: calls fail with typed errors meanwhile, then resume by themselves", async () => {
    const t = await register(gwA.url, "sam");
    await nats.stop();
    const during = await api(gwA.url, "POST", "/api/auth/login", { username: "sam", password: "correct horse battery" });
    assert.ok([503, 504].includes(during.status), `during the outage: ${during.status} ${JSON.stringify(during.body)}`);
    assert.ok(["UNAVAILABLE", "TIMEOUT"].includes(code(during) ?? ""));
    assert.equal((await api(gwA.url, "GET", "/healthz")).status, 200, "the gateway itself stays up");
    await nats.restart();
    await waitFor("login through gateway A after the restart", async () => (await api(gwA.url, "POST", "/api/auth/login", { username: "sam", password: "correct horse battery" })).status === 200 || undefined, 30_000, 250);
    assert.equal((await api(gwB.url, "GET", "/api/auth/me", undefined, t.accessToken)).status, 200);
    const s = await api(gwB.url, "GET", "/api/streams");
    assert.equal(s.status, 200, "the JetStream store is readable again");
  });

  it("kill -9 of a gateway: its clients reconnect to another and carry on", async () => {
    const t = await register(gwB.url, "tara");
    const c = await WsClient.connect(gwA.wsUrl, { token: t.accessToken });
    await c.next((f) => f.t === "hello");
    gwA.proc.kill("SIGKILL");
    assert.equal(await c.closed(), 1006);
    const again = await WsClient.connect(gwB.wsUrl, { token: t.accessToken });
    const who = await again.request("whoami");
    assert.equal((who.d as { nodeId: string }).nodeId, "gateway-b");
    assert.equal((await api(gwB.url, "POST", "/api/auth/login", { username: "tara", password: "correct horse battery" })).status, 200);
    again.close();
  });

  it("kill -9 of an actor node while a second runs: the platform keeps serving", async () => {
    const second = await PlatformNode.start({ services: "sessions,streams,rooms", natsUrl: nats.url, env: { ...FAST, NODE_ID: "actors-2" } });
    extra.push(second);
    await register(gwB.url, "uma");
    actors.proc.kill("SIGKILL");
    // Requests routed to the dead node time out until heartbeats drop it (3 s here).
    await waitFor("login served by actors-2", async () => (await api(gwB.url, "POST", "/api/auth/login", { username: "uma", password: "correct horse battery" })).status === 200 || undefined, 20_000, 200);
    for (let i = 0; i < 5; i++) assert.equal((await api(gwB.url, "GET", "/api/streams")).status, 200);
  });
});
