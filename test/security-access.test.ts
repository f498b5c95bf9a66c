/**
 * Issue 15, entitlement: a stream's visibility (public, unlisted, private with grants) is
 * enforced by the catalog, the key server, signed playback URLs, playlists and segments, live
 * media and rooms; a deleted asset stops being served. A real node, a real encoded asset.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { makeClip, uploadAndWait } from "../tools/harness/vod.js";
import { WsClient, type Frame } from "../tools/harness/ws-client.js";

let node: PlatformNode;
const ADMIN = { username: "boss", password: "boss password 1" };
const users = {} as Record<"owner" | "friend" | "stranger" | "admin", { token: string; id: string }>;
let guest: string;
let asset: string;

async function user(name: string, role?: "creator"): Promise<{ token: string; id: string }> {
  await api(node.url, "POST", "/api/auth/register", { username: name, password: `${name} password 1`, ...(role ? { role } : {}) });
  const r = await api(node.url, "POST", "/api/auth/login", { username: name, password: `${name} password 1` });
  return { token: r.body.accessToken as string, id: (r.body.user as { id: string }).id };
}

const get = (path: string, headers: Record<string, string> = {}) => fetch(node.url + path, { headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const code = (f: Frame) => (f.t === "error" ? (f.d as { code: string }).code : f.t);

before(async () => {
  node = await PlatformNode.start({ env: { ADMIN_USER: ADMIN.username, ADMIN_PASSWORD: ADMIN.password, ESH_ROOMS_CHAT_RATE_PER_SEC: "100", ESH_ROOMS_CHAT_BURST: "100", ESH_GATEWAY_AUTH_BURST_PER_IP: "200", ESH_GATEWAY_HTTP_BURST_PER_IP: "100000", ESH_GATEWAY_HTTP_RATE_PER_IP: "100000", ESH_GATEWAY_HTTP_BURST_PER_USER: "100000", ESH_GATEWAY_HTTP_RATE_PER_USER: "100000" } });
  users.owner = await user("owner", "creator");
  users.friend = await user("friend");
  users.stranger = await user("stranger");
  users.admin = { token: (await api(node.url, "POST", "/api/auth/login", ADMIN)).body.accessToken as string, id: "" };
  guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
  asset = await uploadAndWait(node.url, users.owner.token, makeClip(2, "320x240"), "Private diary");
});

after(async () => {
  await node.stop();
});

describe("a private asset", () => {
  before(async () => {
    // Public first: search finds it (so not finding it below means something).
    const found = (await api(node.url, "GET", "/api/search?q=diary", undefined, guest)).body as unknown as { items: { id: string }[] };
    assert.deepEqual(found.items.map((s) => s.id), [asset]);
    const r = await api(node.url, "PATCH", `/api/streams/${asset}`, { visibility: "private", grants: ["friend"] }, users.owner.token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.grantNames, ["friend"]);
  });

  it("is invisible to strangers and guests: not listed, NOT_FOUND by id, no key, no playback URL, no playlist", async () => {
    for (const token of [guest, users.stranger.token]) {
      assert.equal((await api(node.url, "GET", `/api/streams/${asset}`, undefined, token)).status, 404);
      assert.equal((await get(`/api/keys/${asset}`, bearer(token))).status, 403);
      assert.equal((await api(node.url, "GET", `/api/playback/${asset}`, undefined, token)).status, 403);
      assert.equal((await get(`/vod/${asset}/master.m3u8`, bearer(token))).status, 403);
      const listed = (await api(node.url, "GET", "/api/streams?limit=200", undefined, token)).body as unknown as { id: string }[];
      assert.ok(!listed.some((s) => s.id === asset));
      const found = (await api(node.url, "GET", "/api/search?limit=50", undefined, token)).body as unknown as { items: { id: string }[] };
      assert.ok(Array.isArray(found.items) && !found.items.some((s) => s.id === asset), "search does not find it");
    }
    assert.equal((await get(`/vod/${asset}/master.m3u8`)).status, 401);
    assert.equal((await api(node.url, "GET", `/api/streams/${asset}`)).status, 404);
  });

  it("plays for its owner, an admin and a granted user; the signed URL carries the signature to every segment", async () => {
    for (const token of [users.owner.token, users.admin.token, users.friend.token]) {
      const key = await get(`/api/keys/${asset}`, bearer(token));
      assert.equal(key.status, 200);
      assert.equal((await key.arrayBuffer()).byteLength, 16);
    }
    assert.equal((await api(node.url, "GET", `/api/streams/${asset}`, undefined, users.friend.token)).body.grantNames, undefined, "grants are the owner's business");
    const pb = await api(node.url, "GET", `/api/playback/${asset}`, undefined, users.friend.token);
    assert.equal(pb.status, 200);
    const master = await (await get(new URL(pb.body.master as string, node.url).pathname + new URL(pb.body.master as string, node.url).search)).text();
    const variant = master.split("\n").find((l) => l.includes(".m3u8")) ?? "";
    assert.match(variant, /\?pt=/);
    const playlist = await (await get(`/vod/${asset}/${variant}`)).text();
    const segment = playlist.split("\n").find((l) => l && !l.startsWith("#")) ?? "";
    assert.match(segment, /\?pt=/, "segments carry the signature");
    assert.match(playlist, /#EXT-X-KEY:.*URI="[^"]*\?pt=/);
    const dir = variant.split("/").slice(0, -1).join("/");
    assert.equal((await get(`/vod/${asset}/${dir}/${segment}`)).status, 200);
    assert.equal((await get(`/vod/${asset}/${dir}/${segment.split("?")[0] ?? ""}`)).status, 401, "not without it");
    assert.equal((await get(`/vod/${asset}/${dir}/${segment.split("?")[0] ?? ""}`, bearer(users.friend.token))).status, 200, "or with a granted viewer's token");
  });

  it("an unlisted asset plays for anyone with its link but is never listed", async () => {
    assert.equal((await api(node.url, "PATCH", `/api/streams/${asset}`, { visibility: "unlisted" }, users.owner.token)).status, 200);
    await new Promise((r) => setTimeout(r, 2100)); // the gateway's view of the catalog is 2 s old at most
    assert.equal((await api(node.url, "GET", `/api/streams/${asset}`, undefined, guest)).status, 200);
    assert.equal((await get(`/api/keys/${asset}`, bearer(guest))).status, 200);
    assert.equal((await get(`/vod/${asset}/master.m3u8`)).status, 200);
    const listed = (await api(node.url, "GET", "/api/streams?limit=200", undefined, guest)).body as unknown as { id: string }[];
    assert.ok(!listed.some((s) => s.id === asset));
    const found = (await api(node.url, "GET", "/api/search?limit=50", undefined, guest)).body as unknown as { items: { id: string }[] };
    assert.ok(!found.items.some((s) => s.id === asset), "an unlisted video is not searchable");
    const mine = (await api(node.url, "GET", `/api/streams?ownerId=${users.owner.id}&limit=200`, undefined, users.owner.token)).body as unknown as { id: string }[];
    assert.ok(mine.some((s) => s.id === asset), "its owner's studio lists it");
  });

  it("a deleted asset stops being served (files, key)", async () => {
    assert.equal((await get(`/vod/${asset}/master.m3u8`)).status, 200);
    assert.equal((await api(node.url, "DELETE", `/api/streams/${asset}`, undefined, users.owner.token)).status, 200);
    await waitFor("the deleted asset's files to stop being served", async () => ((await get(`/vod/${asset}/master.m3u8`)).status === 404 ? true : undefined), 5000, 200);
    assert.notEqual((await get(`/api/keys/${asset}`, bearer(users.owner.token))).status, 200);
  });
});

describe("a private live show", () => {
  it("its media and its room are for the owner and granted users only", async () => {
    const show = (await api(node.url, "POST", "/api/streams", { title: "Members only", kind: "live", visibility: "private", grants: ["friend"] }, users.owner.token)).body.id as string;
    const clients = await Promise.all([guest, users.stranger.token, users.friend.token].map((t) => WsClient.connect(node.wsUrl, { token: t })));
    try {
      const [g, s, f] = clients as [WsClient, WsClient, WsClient];
      for (const c of [g, s]) {
        assert.equal(code(await c.request("media.join", { stream: show, role: "viewer" })), "NOT_FOUND");
        assert.equal(code(await c.request("room.join", { room: show })), "NOT_FOUND");
      }
      assert.equal(code(await f.request("media.join", { stream: show, role: "viewer" })), "ok");
      assert.equal(code(await f.request("room.join", { room: show })), "ok");
      // A stranger pipelining join + chat while the friend talks: no chat accepted, nothing heard.
      const said: Promise<Frame>[] = [];
      for (let i = 0; i < 10; i++) {
        s.send("room.join", { room: show });
        said.push(s.request("room.chat", { room: show, text: `intruder ${i}` }));
        assert.equal(code(await f.request("room.chat", { room: show, text: `members only ${i}` })), "ok");
      }
      assert.ok((await Promise.all(said)).every((a) => a.t === "error"), "the stranger's chats are refused");
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!s.frames.some((fr) => fr.t === "room"), `the stranger heard: ${JSON.stringify(s.frames.filter((fr) => fr.t === "room")).slice(0, 300)}`);
      assert.equal((await api(node.url, "GET", `/api/rooms/${show}`, undefined, guest)).status, 404, "the room's settings too");
      assert.equal((await api(node.url, "GET", `/api/rooms/${show}`, undefined, users.friend.token)).status, 200);
      assert.equal((await get(`/api/livekeys/${show}/x-1`, bearer(guest))).status, 404);
      assert.equal((await get(`/live/${show}/master.m3u8`, bearer(guest))).status, 404, "not live yet: nothing served");
    } finally {
      for (const c of clients) c.close();
    }
  });
});
