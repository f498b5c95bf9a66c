/**
 * The WebSocket hub on a real uWS listen socket, driven by a real `ws` client: the hello frame,
 * request/answer in both wire formats, refused upgrades (no token, unknown token, per-user cap),
 * the malformed-frame and flooding closes, a token that cannot change its user, revocation and
 * drain closes. Tokens are looked up in a table here (lib/tokens.test.ts tests verification).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { us_listen_socket } from "@trufflesuite/uws-js-unofficial";
import { DEFAULTS } from "../../lib/config.js";
import { AppError } from "../../lib/errors.js";
import type { Principal } from "../../lib/identity.js";
import { CLOSE } from "../../protocol/close-codes.js";
import { WsClient } from "../../tools/harness/ws-client.js";
import { waitFor } from "../../tools/harness/ports.js";
import { loadUws } from "../uws.js";
import { MediaEdge } from "../media-edge.js";
import { RoomsEdge } from "../rooms-edge.js";
import { Admission, NOMINAL_JOINS_PER_SEC } from "../admission.js";
import { JoinBatcher } from "../join-batcher.js";
import { WsHub } from "./hub.js";
import type { MessageEnv } from "./message-def.js";

const exp = Math.floor(Date.now() / 1000) + 3600;
const principal = (userId: string, sid: string): Principal => ({ userId, name: userId, role: "viewer", guest: false, sid, exp });
const TOKENS = new Map<string, Principal>([
  ["token-ann-one", principal("ann", "s-ann")],
  ["token-ann-two", principal("ann", "s-ann-2")],
  ["token-bob-one", principal("bob", "s-bob")],
]);
const verifySync = (token: string): Principal => {
  const p = TOKENS.get(token);
  if (!p) throw new AppError("UNAUTHENTICATED", "Unknown token");
  return p;
};
// Only ping, whoami and auth run here; the rooms and media edges are real but see no actor.
const noActor = () => Promise.reject(new AppError("UNAVAILABLE", "no actors in this test"));
const rooms = new RoomsEdge({ nodeId: "hub-test", batchMs: 10, reactionFlushMs: 20, joins: new JoinBatcher({ maxBatch: 500, call: noActor }), callInternal: noActor, onError: () => undefined });
/** What admission sees of this node's joins: set by the shedding test. */
const joinLoad = { pending: 0, rate: 0 };
/** Lag shedding is off (60 s) but in its own test: no stall of this machine refuses another test's socket. */
const shedding = { joinQueueMs: 100, joinsPerIp: 200, shedLagMs: 60_000, joins: joinLoad, random: () => 0.5 };
const admission = new Admission(shedding);
const media = new MediaEdge({ nodeId: "hub-test", call: noActor, callInternal: noActor, onError: () => undefined });
const env: MessageEnv = {
  nodeId: "hub-test", rooms, media, admission,
  events: undefined as unknown as MessageEnv["events"], // no analytics messages are sent here
  verifySync, verify: (t: string) => Promise.resolve(verifySync(t)), call: noActor, mayWatch: () => Promise.resolve(),
};
const cfg = { ...DEFAULTS.gateway, wsRatePerSec: 1, wsBurst: 20, wsFloodCloseAfter: 3, wsPerUser: 3 };
const rejects: string[] = [];
const hub = new WsHub(cfg, env, { onReject: (code) => rejects.push(code), onMessage: () => undefined, onError: () => undefined });
const { uws } = loadUws(false);
let listen: us_listen_socket | undefined;
let url = "";
const clients: WsClient[] = [];
const connect = async (token?: string, json = false) => {
  const c = await WsClient.connect(url, { ...(token ? { token } : {}), json });
  clients.push(c);
  return c;
};
const closed = (c: WsClient) => c.closed(5000);

before(async () => {
  const app = uws.App();
  app.ws("/ws", hub.behavior());
  listen = await new Promise<us_listen_socket>((resolve, reject) => app.listen("127.0.0.1", 0, (s) => (s ? resolve(s) : reject(new Error("cannot listen")))));
  url = `ws://127.0.0.1:${String(uws.us_socket_local_port(listen))}/ws`;
  admission.start();
});

after(() => {
  rooms.stop();
  admission.stop();
  for (const c of clients) c.ws.terminate();
  if (listen) uws.us_listen_socket_close(listen);
});

describe("WsHub", () => {
  it("says hello, then answers requests by id, in msgpack and in JSON", async () => {
    for (const json of [false, true]) {
      const c = await connect("token-bob-one", json);
      const hello = await c.next((f) => f.t === "hello");
      assert.deepEqual({ ...(hello.d as object) }, { protocol: 1, nodeId: "hub-test", userId: "bob", role: "viewer", guest: false, exp });
      const pong = await c.request("ping", { ts: 7 });
      assert.equal(pong.t, "ok");
      assert.equal((pong.d as { ts: number }).ts, 7);
      c.close();
    }
  });

  it("refuses upgrades without a token or with an unknown one (401, typed body)", async () => {
    for (const token of [undefined, "forged"]) {
      const err = (await connect(token).catch((e: unknown) => e)) as { status?: number; body?: string };
      assert.equal(err.status, 401);
      assert.equal((JSON.parse(err.body ?? "{}") as { error: { code: string } }).error.code, "UNAUTHENTICATED");
    }
  });

  it("caps connections per user (429), and counts a closed one out again", async () => {
    const open = [await connect("token-ann-one"), await connect("token-ann-one"), await connect("token-ann-two")];
    const err = (await connect("token-ann-one").catch((e: unknown) => e)) as { status?: number };
    assert.equal(err.status, 429);
    open[0]?.close();
    await closed(open[0] as WsClient);
    const again = await waitFor("a place again", () => connect("token-ann-one").then((c) => c, () => undefined), 5000, 50);
    for (const c of [...open.slice(1), again]) {
      c.close();
      await closed(c);
    }
  });

  it("answers a malformed frame with MALFORMED_FRAME, and closes after five in a row (4500)", async () => {
    const c = await connect("token-bob-one");
    for (let i = 0; i < 5; i++) c.sendRaw(Buffer.from([0xc1, 0xff, i]));
    assert.equal(await closed(c), CLOSE.PROTOCOL_ERROR);
    assert.equal(c.frames.filter((f) => f.t === "error" && (f.d as { code: string }).code === "MALFORMED_FRAME").length, 4);
  });

  it("answers RATE_LIMITED past the burst, and closes a client that keeps flooding (4002)", async () => {
    const c = await connect("token-bob-one");
    for (let i = 0; i < 30; i++) c.send("ping", {});
    assert.equal(await closed(c), CLOSE.FLOODING);
    assert.ok(c.frames.some((f) => f.t === "error" && (f.d as { code: string }).code === "RATE_LIMITED"));
    assert.ok(rejects.includes("RATE_LIMITED"));
  });

  it("lets a connection renew its token, but not change its user", async () => {
    const c = await connect("token-ann-one");
    assert.equal((await c.request("auth", { token: "token-ann-two" })).t, "ok");
    assert.equal(((await c.request("whoami")).d as { sid: string }).sid, "s-ann-2", "the connection speaks with the new token's session");
    const refused = await c.request("auth", { token: "token-bob-one" });
    assert.equal(refused.t, "error");
    assert.equal((refused.d as { code: string }).code, "FORBIDDEN");
    c.close();
    await closed(c);
  });

  it("sheds joins when the joins ahead would take too long: UNAVAILABLE with retryAfterMs, the socket kept", async () => {
    const c = await connect("token-bob-one", true);
    // 1,000 joins pending at the nominal 2,000/s is 500 ms of queue: past this hub's 100 ms.
    joinLoad.pending = 1000;
    const refused = await c.request("room.join", { room: "r-shed" });
    joinLoad.pending = 0;
    assert.equal(refused.t, "error");
    const body = refused.d as { code: string; message: string; data: { retryAfterMs: number; retryAfterSec: number } };
    assert.equal(body.code, "UNAVAILABLE");
    assert.equal(body.data.retryAfterMs, Math.round((1000 * 1000) / NOMINAL_JOINS_PER_SEC - 100 + 0.5 * 100), "until the queue is under the 100 ms limit, plus a draw within it (its middle here)");
    assert.equal(body.data.retryAfterSec, 1);
    assert.match(body.message, /1000 joins ahead/);
    assert.equal((await c.request("ping", {})).t, "ok", "the socket stays open: the client asks again later");
    c.close();
    await closed(c);
  });

  it("refuses upgrades with 503 and Retry-After while the event loop lags, and takes them again after", async () => {
    shedding.shedLagMs = 100;
    const pending = connect("token-bob-one").catch((e: unknown) => e);
    const until = performance.now() + 400;
    while (performance.now() < until); // the event loop blocked 400 ms, as under a storm
    const err = (await pending) as { status?: number; body?: string; headers?: Record<string, string> };
    assert.equal(err.status, 503);
    const body = JSON.parse(err.body ?? "{}") as { error: { code: string; data: { retryAfterMs: number } } };
    assert.equal(body.error.code, "UNAVAILABLE");
    assert.ok(body.error.data.retryAfterMs >= 200, "asks for at least the lag's worth of waiting");
    assert.equal(err.headers?.["retry-after"], String(Math.ceil(body.error.data.retryAfterMs / 1000)), "Retry-After for HTTP clients too");
    assert.ok(admission.refusedUpgrades >= 1);
    const again = await waitFor("the hub takes sockets again", () => connect("token-bob-one").then((c) => c, () => undefined), 5000, 100);
    shedding.shedLagMs = 60_000;
    again.close();
    await closed(again);
  });

  it("closes the sockets of revoked sessions (4501), and every socket on drain (4000)", async () => {
    const [a, b] = [await connect("token-ann-one"), await connect("token-bob-one")];
    await b.next((f) => f.t === "hello");
    assert.equal(hub.closeSessions(new Set(["s-ann"]), CLOSE.SESSION_REVOKED, "revoked"), 1);
    assert.equal(await closed(a), CLOSE.SESSION_REVOKED);
    assert.equal(b.closeCode, undefined);
    hub.drain();
    assert.equal(await closed(b), CLOSE.RECONNECT_ELSEWHERE);
    const refused = (await connect("token-bob-one").catch((e: unknown) => e)) as { status?: number };
    assert.equal(refused.status, 503, "a draining hub takes no new sockets");
  });
});
