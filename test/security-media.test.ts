/**
 * Issue 15, live media: what an ordinary or hostile user does must not end someone's show, keep
 * a dead show LIVE, or pile up sessions. Real nodes with a real mediasoup worker; sessions that
 * never connect come from browser-shaped SDP offers (tools/harness/sdp-offers.ts), media-carrying
 * ones from Chromium in media-browser.test.ts.
 *
 * Node "quick" has short timeouts (connect 2 s, media 2 s, grace 1.5 s); node "steady" has long
 * ones so that sessions stay while caps and revocations are tried, and is restarted at the end.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { postOffer, whepOffer, whipOffer } from "../tools/harness/sdp-offers.js";
import { WsClient, type Frame } from "../tools/harness/ws-client.js";

const COMMON = { ESH_GATEWAY_AUTH_BURST_PER_IP: "500", ESH_GATEWAY_HTTP_BURST_PER_IP: "10000", ESH_GATEWAY_HTTP_BURST_PER_USER: "10000", ADMIN_USER: "boss", ADMIN_PASSWORD: "boss password 1" };
const clients: WsClient[] = [];

async function login(base: string, username: string, role?: "creator"): Promise<{ token: string; userId: string }> {
  await api(base, "POST", "/api/auth/register", { username, password: `${username} password 1` });
  const admin = (await api(base, "POST", "/api/auth/login", { username: "boss", password: "boss password 1" })).body.accessToken as string;
  const me = (await api(base, "POST", "/api/auth/login", { username, password: `${username} password 1` })).body;
  const userId = (me.user as { id: string }).id;
  if (role) {
    assert.equal((await api(base, "POST", `/api/admin/users/${userId}/role`, { role }, admin)).status, 200);
    const again = (await api(base, "POST", "/api/auth/login", { username, password: `${username} password 1` })).body;
    return { token: again.accessToken as string, userId };
  }
  return { token: me.accessToken as string, userId };
}

const guest = async (base: string): Promise<string> => (await api(base, "POST", "/api/auth/guest")).body.accessToken as string;
const adminToken = async (base: string): Promise<string> => (await api(base, "POST", "/api/auth/login", { username: "boss", password: "boss password 1" })).body.accessToken as string;
const status = async (base: string, id: string): Promise<string> => (await api(base, "GET", `/api/streams/${id}`)).body.status as string;
const newLive = async (base: string, token: string, title: string): Promise<string> => (await api(base, "POST", "/api/streams", { title, kind: "live" }, token)).body.id as string;

async function ws(url: string, token: string): Promise<WsClient> {
  const c = await WsClient.connect(url, { token });
  clients.push(c);
  return c;
}

/** The HTTP status and body of a refused WebSocket upgrade (undefined if it was accepted). */
async function refusal(p: Promise<WsClient>): Promise<{ status?: number; body?: string } | undefined> {
  try {
    clients.push(await p);
    return undefined;
  } catch (err: unknown) {
    return err as { status?: number; body?: string };
  }
}

const code = (f: Frame): string | undefined => (f.t === "error" ? (f.d as { code: string }).code : undefined);

/** What a browser's mediasoup-client would send for a VP8 camera track. */
const VP8 = { codecs: [{ mimeType: "video/VP8", payloadType: 96, clockRate: 90000, rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }] }], encodings: [{ ssrc: 22220001 }], rtcp: { cname: "cam" } };
const OPUS = { codecs: [{ mimeType: "audio/opus", payloadType: 111, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 22220002 }], rtcp: { cname: "cam" } };

after(() => {
  for (const c of clients) c.ws.close();
});

describe("quick node: scheduled shows, sessions that never connect, WebSocket caps", () => {
  let node: PlatformNode;
  let owner: { token: string; userId: string };

  before(async () => {
    node = await PlatformNode.start({
      env: { ...COMMON, ESH_MEDIA_BROADCASTER_GRACE_MS: "1500", ESH_MEDIA_MEDIA_TIMEOUT_MS: "2000", ESH_MEDIA_SESSION_CONNECT_TIMEOUT_MS: "2000", ESH_GATEWAY_WS_PER_USER: "3", ESH_GATEWAY_WS_PER_IP: "12" },
    });
    owner = await login(node.url, "quickcaster", "creator");
  });
  after(async () => {
    for (const c of clients) c.ws.close();
    await node.stop();
  });

  it("viewers waiting for a scheduled show leave and come back without ending it; they get media.producer when it starts", async () => {
    const id = await newLive(node.url, owner.token, "Starts at eight");
    const early = await ws(node.wsUrl, await guest(node.url));
    assert.equal((await early.request("media.join", { stream: id, role: "viewer" })).t, "ok");
    assert.equal((await early.request("media.leave", { stream: id })).t, "ok");
    early.close();
    await new Promise((r) => setTimeout(r, 1500 * 2 + 2500)); // two grace periods and a reconcile round
    assert.equal(await status(node.url, id), "created", "a viewer leaving a scheduled stream must not end it");

    const waiting = await ws(node.wsUrl, await guest(node.url));
    assert.equal((await waiting.request("media.join", { stream: id, role: "viewer" })).t, "ok");
    const cast = await ws(node.wsUrl, owner.token);
    const joined = await cast.request("media.join", { stream: id, role: "broadcaster" });
    assert.equal(joined.t, "ok", JSON.stringify(joined));
    const transportId = (joined.d as { transport: { id: string } }).transport.id;
    const produced = await cast.request("media.produce", { stream: id, transportId, kind: "video", rtpParameters: VP8, source: "camera" });
    assert.equal(produced.t, "ok", JSON.stringify(produced));
    const notice = await waiting.next((f) => f.t === "media.producer");
    assert.equal((notice.d as { streamId: string }).streamId, id);
    assert.equal(await status(node.url, id), "live");
    // This broadcaster sends no media: the watchdog counts it gone, and after the grace the show ends.
    await waitFor("the silent broadcaster's stream to end", async () => (await status(node.url, id)) === "ended" || undefined, 20_000, 250);
    assert.match(node.output, /broadcaster \S+ of stream \S+ is gone \(no media for \d+ s\)/);
  });

  it("a WHIP publisher that never connects is dropped after the connect timeout, and its stream ends after the grace", async () => {
    const id = await newLive(node.url, owner.token, "Encoder that crashed");
    const pub = await postOffer(`${node.url}/api/whip/${id}`, whipOffer(), owner.token);
    assert.equal(pub.status, 201, JSON.stringify(pub));
    assert.equal(await status(node.url, id), "live");
    await waitFor("the unconnected WHIP stream to end", async () => (await status(node.url, id)) === "ended" || undefined, 20_000, 250);
    assert.match(node.output, /is gone \(not connected within 2000 ms\)/);
    // The session is gone: its DELETE finds nothing.
    const del = await fetch(node.url + (pub.location ?? ""), { method: "DELETE", headers: { authorization: `Bearer ${owner.token}` } });
    assert.equal(del.status, 404);
  });

  it("a WHEP session that never connects is closed after the connect timeout", async () => {
    const id = await newLive(node.url, owner.token, "Watched by a ghost");
    const cast = await ws(node.wsUrl, owner.token);
    const joined = await cast.request("media.join", { stream: id, role: "broadcaster" });
    const transportId = (joined.d as { transport: { id: string } }).transport.id;
    assert.equal((await cast.request("media.produce", { stream: id, transportId, kind: "video", rtpParameters: VP8, source: "camera" })).t, "ok");
    assert.equal((await cast.request("media.produce", { stream: id, transportId, kind: "audio", rtpParameters: OPUS, source: "mic" })).t, "ok");
    const g = await guest(node.url);
    const play = await postOffer(`${node.url}/api/whep/${id}`, whepOffer(), g);
    assert.equal(play.status, 201, JSON.stringify(play));
    await waitFor("the ghost WHEP session to be closed", () => /viewer \S+\/whep\/\S+ of stream \S+ is gone \(not connected/.test(node.output) || undefined, 10_000, 100);
    const del = await fetch(node.url + (play.location ?? ""), { method: "DELETE", headers: { authorization: `Bearer ${g}` } });
    assert.equal(del.status, 404);
  });

  it("WebSocket upgrades are capped per user and per address (429 with Retry-After)", async () => {
    for (const c of clients.splice(0)) c.ws.close();
    await new Promise((r) => setTimeout(r, 300));
    const g = await guest(node.url);
    const first = await ws(node.wsUrl, g);
    await ws(node.wsUrl, g);
    await ws(node.wsUrl, g);
    const refused = await refusal(WsClient.connect(node.wsUrl, { token: g }));
    assert.equal(refused?.status, 429, "a 4th socket of one user must be refused");
    assert.match(refused.body ?? "", /RATE_LIMITED/);
    first.close();
    await first.closed();
    await new Promise((r) => setTimeout(r, 100));
    await ws(node.wsUrl, g); // room again once one closed
    // Other users from the same address: 12 sockets in all from 127.0.0.1.
    for (let i = 0; i < 9; i++) await ws(node.wsUrl, await guest(node.url));
    const overIp = await refusal(WsClient.connect(node.wsUrl, { token: await guest(node.url) }));
    assert.equal(overIp?.status, 429, "the 13th socket from one address must be refused");
    assert.match(node.output, /RATE_LIMITED/);
    for (const c of clients.splice(0)) c.ws.close();
  });

  it("pipelined media.join requests cannot pass the per-connection stream cap", async () => {
    await new Promise((r) => setTimeout(r, 300));
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await newLive(node.url, owner.token, `Channel ${i}`));
    const c = await ws(node.wsUrl, await guest(node.url));
    const answers = await Promise.all(ids.map((stream) => c.request("media.join", { stream, role: "viewer" })));
    const ok = answers.filter((a) => a.t === "ok").length;
    assert.equal(ok, 4, `at most 4 streams per connection, got ${ok}: ${JSON.stringify(answers.map((a) => a.t))}`);
    assert.ok(answers.filter((a) => code(a) === "BAD_REQUEST").length === 3);
  });
});

describe("steady node: WHEP caps, revocation ends media sessions, the catalog after a restart", () => {
  let node: PlatformNode;
  let dataDir: string;
  let owner: { token: string; userId: string };
  let liveId: string;

  before(async () => {
    node = await PlatformNode.start({
      env: { ...COMMON, ESH_MEDIA_BROADCASTER_GRACE_MS: "3000", ESH_MEDIA_MEDIA_TIMEOUT_MS: "600000", ESH_MEDIA_SESSION_CONNECT_TIMEOUT_MS: "600000", ESH_MEDIA_WHEP_PER_USER: "2", ESH_MEDIA_WHEP_PER_IP: "5" },
    });
    dataDir = node.dataDir;
    owner = await login(node.url, "steadycaster", "creator");
    liveId = await newLive(node.url, owner.token, "Always on");
    assert.equal((await postOffer(`${node.url}/api/whip/${liveId}`, whipOffer(), owner.token)).status, 201);
  });
  after(async () => {
    await node.stop();
  });

  it("WHEP sessions are capped per user and per address, pipelined requests included", async () => {
    const url = `${node.url}/api/whep/${liveId}`;
    const g1 = await guest(node.url);
    const burst = await Promise.all([1, 2, 3, 4].map(() => postOffer(url, whepOffer(), g1)));
    assert.equal(burst.filter((r) => r.status === 201).length, 2, JSON.stringify(burst));
    const over = burst.filter((r) => r.status !== 201);
    assert.ok(over.every((r) => r.status === 429 && r.code === "RATE_LIMITED"), JSON.stringify(over));
    const g2 = await guest(node.url);
    const g2Sessions = [await postOffer(url, whepOffer(), g2), await postOffer(url, whepOffer(), g2)];
    for (const r of g2Sessions) assert.equal(r.status, 201);
    const g3 = await guest(node.url);
    const byIp = await postOffer(url, whepOffer(), g3);
    assert.equal(byIp.status, 201); // the 5th from this address
    const sixth = await postOffer(url, whepOffer(), g3);
    assert.equal(sixth.status, 429, "the 6th WHEP session from one address must be refused");
    // A session ended by DELETE frees its place.
    const first = burst.find((r) => r.status === 201);
    const del = (location: string | null | undefined, token: string) => fetch(node.url + (location ?? ""), { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    assert.equal((await del(first?.location, g1)).status, 200);
    const again = await postOffer(url, whepOffer(), g3);
    assert.equal(again.status, 201);
    // Leave the address's quota free for the next test.
    assert.equal((await del(burst.filter((r) => r.status === 201)[1]?.location, g1)).status, 200);
    for (const r of [byIp, again]) assert.equal((await del(r.location, g3)).status, 200);
    for (const r of g2Sessions) assert.equal((await del(r.location, g2)).status, 200);
  });

  it("revoking a user ends their WHIP and WHEP sessions, not only their WebSockets", async () => {
    const fan = await login(node.url, "revokedfan");
    const caster = await login(node.url, "revokedcaster", "creator");
    const show = await newLive(node.url, caster.token, "Soon revoked");
    const pub = await postOffer(`${node.url}/api/whip/${show}`, whipOffer(), caster.token);
    assert.equal(pub.status, 201);
    const play = await postOffer(`${node.url}/api/whep/${liveId}`, whepOffer(), fan.token);
    assert.equal(play.status, 201, JSON.stringify(play));
    // Probed by a stranger, whose DELETE changes nothing: 403 while the session exists, 404 once it is gone.
    const stranger = await guest(node.url);
    const gone = async (location: string | null) => {
      const st = (await fetch(node.url + (location ?? ""), { method: "DELETE", headers: { authorization: `Bearer ${stranger}` } })).status;
      assert.ok(st === 403 || st === 404, `DELETE by a stranger: ${st}`);
      return st === 404 || undefined;
    };
    assert.equal(await gone(play.location), undefined, "the WHEP session exists before the revocation");
    assert.equal(await gone(pub.location), undefined, "the WHIP session exists before the revocation");
    const admin = await adminToken(node.url);
    assert.equal((await api(node.url, "POST", `/api/admin/users/${fan.userId}/revoke`, undefined, admin)).status, 200);
    assert.equal((await api(node.url, "POST", `/api/admin/users/${caster.userId}/role`, { role: "viewer" }, admin)).status, 200);

    await waitFor("the revoked viewer's WHEP session to be closed", () => gone(play.location), 10_000, 100);
    await waitFor("the revoked creator's WHIP session to be closed", () => gone(pub.location), 10_000, 100);
    await waitFor("the revoked creator's show to end after the grace", async () => (await status(node.url, show)) === "ended" || undefined, 15_000, 250);
  });

  it("after a restart (same DATA_DIR), a stream whose broadcaster was on the node does not stay LIVE", async () => {
    assert.equal(await status(node.url, liveId), "live");
    node.proc.kill("SIGKILL");
    await node.exited();
    node = await PlatformNode.start({ dataDir, env: { ...COMMON, ESH_MEDIA_BROADCASTER_GRACE_MS: "3000" } });
    const restarted = Date.now();
    await waitFor("the orphaned live stream to end", async () => (await status(node.url, liveId)) === "ended" || undefined, 30_000, 250);
    const took = Date.now() - restarted;
    assert.match(node.output, new RegExp(`${liveId} is live in the catalog but no media node has served it`));
    process.stdout.write(`# orphaned stream ended ${took} ms after the restart (grace 3000 ms, report window 6000 ms)\n`);
  });
});
