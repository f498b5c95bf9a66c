/**
 * Media signalling over the WebSocket against a real mediasoup worker: who may broadcast, and
 * what malformed DTLS/RTP parameters get (typed errors; the node and its worker stay up).
 * Browser media (frames, layers, worker death) is in media-browser.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, PlatformNode } from "../tools/harness/node.js";
import { WsClient, type Frame } from "../tools/harness/ws-client.js";

let node: PlatformNode;
let ownerToken: string;
let otherCreatorToken: string;
let viewerToken: string;
let streamId: string;
const clients: WsClient[] = [];

async function login(username: string, role?: string): Promise<string> {
  await api(node.url, "POST", "/api/auth/register", { username, password: `${username} password 1`, ...(role ? { role } : {}) });
  return (await api(node.url, "POST", "/api/auth/login", { username, password: `${username} password 1` })).body.accessToken as string;
}

async function client(token: string): Promise<WsClient> {
  const c = await WsClient.connect(node.wsUrl, { token });
  clients.push(c);
  return c;
}

function errorCode(f: Frame): string | undefined {
  return f.t === "error" ? (f.d as { code: string }).code : undefined;
}

before(async () => {
  node = await PlatformNode.start({ env: { ESH_GATEWAY_AUTH_BURST_PER_IP: "100" } });
  ownerToken = await login("owner", "creator");
  otherCreatorToken = await login("other", "creator");
  viewerToken = await login("watcher");
  streamId = (await api(node.url, "POST", "/api/streams", { title: "Signalling", kind: "live" }, ownerToken)).body.id as string;
});

after(async () => {
  for (const c of clients) c.ws.close();
  await node.stop();
});

describe("media signalling", () => {
  it("the owner joins as broadcaster and gets router capabilities and a WebRTC transport", async () => {
    const c = await client(ownerToken);
    const ans = await c.request("media.join", { stream: streamId, role: "broadcaster" });
    assert.equal(ans.t, "ok", JSON.stringify(ans));
    const d = ans.d as { rtpCapabilities: { codecs: { mimeType: string }[] }; transport: { id: string; iceCandidates: { protocol: string; ip: string }[]; dtlsParameters: { fingerprints: unknown[] } } };
    const mimes = d.rtpCapabilities.codecs.map((x) => x.mimeType);
    for (const m of ["audio/opus", "video/VP8", "video/H264"]) assert.ok(mimes.includes(m), `${m} in ${mimes.join(",")}`);
    assert.ok(d.transport.iceCandidates.some((x) => x.protocol === "udp" && x.ip === "127.0.0.1"));
    assert.ok(d.transport.iceCandidates.some((x) => x.protocol === "tcp"));
    assert.ok(d.transport.dtlsParameters.fingerprints.length > 0);
  });

  it("a viewer-role token cannot broadcast or produce; another creator cannot broadcast someone else's stream", async () => {
    const v = await client(viewerToken);
    assert.equal(errorCode(await v.request("media.join", { stream: streamId, role: "broadcaster" })), "FORBIDDEN");
    const joined = await v.request("media.join", { stream: streamId, role: "viewer" });
    assert.equal(joined.t, "ok");
    const transportId = (joined.d as { transport: { id: string } }).transport.id;
    const produce = await v.request("media.produce", { stream: streamId, transportId, kind: "video", rtpParameters: { codecs: [] }, source: "camera" });
    assert.equal(errorCode(produce), "FORBIDDEN");
    const other = await client(otherCreatorToken);
    assert.equal(errorCode(await other.request("media.join", { stream: streamId, role: "broadcaster" })), "FORBIDDEN");
  });

  it("malformed DTLS and RTP parameters get BAD_REQUEST with a reason; unknown ids NOT_FOUND; the worker survives", async () => {
    const c = await client(ownerToken);
    const ans = await c.request("media.join", { stream: streamId, role: "broadcaster" });
    const transportId = (ans.d as { transport: { id: string } }).transport.id;
    const badDtls = await c.request("media.connect", { stream: streamId, transportId, dtlsParameters: { role: "client", fingerprints: "nope" } });
    assert.equal(errorCode(badDtls), "BAD_REQUEST", JSON.stringify(badDtls));
    assert.match((badDtls.d as { message: string }).message, /DTLS/);
    const badRtp = await c.request("media.produce", { stream: streamId, transportId, kind: "video", rtpParameters: { codecs: [{ mimeType: "video/NOPE", payloadType: 300, clockRate: -1 }], encodings: "x" }, source: "camera" });
    assert.equal(errorCode(badRtp), "BAD_REQUEST", JSON.stringify(badRtp));
    assert.match((badRtp.d as { message: string }).message, /RTP parameters/);
    const notObject = await c.request("media.produce", { stream: streamId, transportId, kind: "video", rtpParameters: "v=0", source: "camera" });
    assert.equal(errorCode(notObject), "BAD_REQUEST");
    assert.equal(errorCode(await c.request("media.connect", { stream: streamId, transportId: "no-such-transport", dtlsParameters: { role: "client", fingerprints: [] } })), "NOT_FOUND");
    const v = await client(viewerToken);
    const vj = await v.request("media.join", { stream: streamId, role: "viewer" });
    const vt = (vj.d as { transport: { id: string } }).transport.id;
    assert.equal(errorCode(await v.request("media.consume", { stream: streamId, transportId: vt, rtpCapabilities: { codecs: "x" } })), "BAD_REQUEST");
    assert.equal(errorCode(await v.request("media.quality", { stream: streamId, consumerId: "c1", quality: "ultra" })), "BAD_REQUEST");
    assert.equal(errorCode(await v.request("media.resume", { stream: streamId, consumerId: "nope" })), "NOT_FOUND");
    // Still serving: a fresh join works.
    const again = await c.request("media.join", { stream: streamId, role: "broadcaster" });
    assert.equal(again.t, "ok");
  });

  it("WHIP/WHEP refuse bad offers with typed errors: wrong content type, not SDP, no media, no token, oversized", async () => {
    const post = async (kind: string, body: string, type = "application/sdp", token: string | null = ownerToken) => {
      const res = await fetch(`${node.url}/api/${kind}/${streamId}`, { method: "POST", headers: { "content-type": type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
      return { status: res.status, body: (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } } };
    };
    assert.equal((await post("whip", "v=0", "text/plain")).status, 415);
    const notSdp = await post("whip", "hello there, this is not SDP");
    assert.equal(notSdp.status, 400);
    assert.match(notSdp.body.error?.message ?? "", /v=0/);
    const noMedia = await post("whip", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
    assert.equal(noMedia.status, 400);
    assert.match(noMedia.body.error?.message ?? "", /no audio or video/);
    const noFingerprint = await post("whip", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n");
    assert.equal(noFingerprint.status, 400);
    assert.equal((await post("whip", "v=0\r\n", "application/sdp", null)).status, 401);
    assert.equal((await post("whip", `v=0\r\n${"a=x\r\n".repeat(20_000)}`)).status, 413);
    assert.equal((await post("whep", "v=0", "text/plain", viewerToken)).status, 415);
    const preflight = await fetch(`${node.url}/api/whip/${streamId}`, { method: "OPTIONS", headers: { origin: "https://obs.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
    assert.match(preflight.headers.get("access-control-expose-headers") ?? "", /location/);
    // The node is still serving.
    assert.equal((await api(node.url, "GET", `/api/streams/${streamId}`)).status, 200);
  });

  it("calls before media.join, and joins of an ended or VOD stream, are refused", async () => {
    const c = await client(viewerToken);
    assert.equal(errorCode(await c.request("media.consume", { stream: streamId, transportId: "t", rtpCapabilities: {} })), "BAD_REQUEST");
    const vod = (await api(node.url, "POST", "/api/streams", { title: "A video", kind: "vod" }, ownerToken)).body.id as string;
    assert.equal(errorCode(await c.request("media.join", { stream: vod, role: "viewer" })), "CONFLICT");
    const o = await client(ownerToken);
    const ended = (await api(node.url, "POST", "/api/streams", { title: "Short one", kind: "live" }, ownerToken)).body.id as string;
    assert.equal((await o.request("media.join", { stream: ended, role: "broadcaster" })).t, "ok");
    assert.equal((await o.request("media.end", { stream: ended })).t, "ok");
    assert.equal(((await api(node.url, "GET", `/api/streams/${ended}`)).body as { status: string }).status, "ended");
    assert.equal(errorCode(await c.request("media.join", { stream: ended, role: "viewer" })), "CONFLICT");
  });
});
