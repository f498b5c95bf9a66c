/**
 * Issue 15, accounts, uploads and what the API shows: creator sign-up is closed by default,
 * creators have quotas, an upload chunk is not read before its sender is known to own the
 * upload, one writer holds an upload at a time, errors carry no host paths, the public API
 * hides ban lists, media node ids and metrics, and a refused call does not make shutdown hang.
 * One real embedded node with the default sign-up setting.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { api, METRICS_TOKEN, PlatformNode } from "../tools/harness/node.js";
import { makeClip } from "../tools/harness/vod.js";
import { waitFor } from "../tools/harness/ports.js";
import { WsClient } from "../tools/harness/ws-client.js";

const ADMIN = { username: "boss", password: "boss password 1" };
let node: PlatformNode;
let admin: string;

async function account(username: string, role?: "creator"): Promise<{ token: string; userId: string }> {
  const reg = await api(node.url, "POST", "/api/auth/register", { username, password: `${username} password 1` });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const userId = (reg.body.user as { id: string }).id;
  if (role) assert.equal((await api(node.url, "POST", `/api/admin/users/${userId}/role`, { role }, admin)).status, 200);
  const login = await api(node.url, "POST", "/api/auth/login", { username, password: `${username} password 1` });
  return { token: login.body.accessToken as string, userId };
}

const tusHeaders = (token: string) => ({ "tus-resumable": "1.0.0", authorization: `Bearer ${token}` });

async function createUpload(token: string, length: number, title = "clip"): Promise<{ status: number; body: { uploadId?: string; streamId?: string; error?: { code: string; message: string; data?: { quota?: string } } } }> {
  const res = await fetch(`${node.url}/api/uploads`, { method: "POST", headers: { ...tusHeaders(token), "upload-length": String(length), "upload-metadata": `title ${Buffer.from(title).toString("base64")}` } });
  return { status: res.status, body: (await res.json()) as never };
}

function patch(token: string, uploadId: string, offset: number, bytes: Buffer): Promise<Response> {
  return fetch(`${node.url}/api/uploads/${uploadId}`, { method: "PATCH", headers: { ...tusHeaders(token), "content-type": "application/offset+octet-stream", "upload-offset": String(offset) }, body: bytes });
}

before(async () => {
  node = await PlatformNode.start({
    env: {
      ESH_AUTH_OPEN_CREATOR_SIGNUP: "false",
      ADMIN_USER: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      ESH_GATEWAY_AUTH_BURST_PER_IP: "200",
      ESH_VOD_MAX_ACTIVE_UPLOADS_PER_CREATOR: "2",
      ESH_VOD_MAX_PENDING_BYTES_PER_CREATOR: "1000000",
    },
  });
  admin = (await api(node.url, "POST", "/api/auth/login", ADMIN)).body.accessToken as string;
});

after(async () => {
  if (node.running) await node.stop();
});

describe("accounts and quotas", () => {
  it("creator sign-up is closed by default: a stranger registers as a viewer, an admin grants creator", async () => {
    const asCreator = await api(node.url, "POST", "/api/auth/register", { username: "selfmade", password: "selfmade password 1", role: "creator" });
    assert.equal(asCreator.status, 403, JSON.stringify(asCreator.body));
    assert.match((asCreator.body.error as { message: string }).message, /granted by an admin/);
    assert.match(node.output, /permission\.denied.*register as creator|register as creator.*permission\.denied/);
    const viewer = await account("patient");
    assert.equal((await api(node.url, "POST", "/api/streams", { title: "Mine", kind: "live" }, viewer.token)).status, 403);
    assert.equal((await createUpload(viewer.token, 1000)).status, 403);
    const promoted = await account("promoted", "creator");
    assert.equal((await api(node.url, "POST", "/api/streams", { title: "Mine now", kind: "live" }, promoted.token)).status, 201);
  });

  it("a creator's uploads in progress and bytes are capped (429 naming the quota); admins are exempt", async () => {
    const c = await account("busycreator", "creator");
    assert.equal((await createUpload(c.token, 1000)).status, 201);
    assert.equal((await createUpload(c.token, 1000)).status, 201);
    const third = await createUpload(c.token, 1000);
    assert.equal(third.status, 429, JSON.stringify(third.body));
    assert.equal(third.body.error?.data?.quota, "uploads");
    // Many at once cannot all pass the check before any is counted.
    const rush = await account("rushcreator", "creator");
    const answers = await Promise.all(Array.from({ length: 8 }, () => createUpload(rush.token, 1000)));
    assert.equal(answers.filter((r) => r.status === 201).length, 2, JSON.stringify(answers.map((r) => r.status)));
    const big = await account("bigcreator", "creator");
    assert.equal((await createUpload(big.token, 900_000)).status, 201);
    const over = await createUpload(big.token, 200_000);
    assert.equal(over.status, 429);
    assert.equal(over.body.error?.data?.quota, "bytes");
    for (let i = 0; i < 3; i++) assert.equal((await createUpload(admin, 1000)).status, 201, "admins have no quota");
  });
});

describe("upload chunks", () => {
  it("a stranger's chunk is refused before its body is read (the gateway never holds it)", async () => {
    const owner = await account("chunkowner", "creator");
    const { body } = await createUpload(owner.token, 900_000);
    assert.ok(body.uploadId);
    const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    const url = new URL(`${node.url}/api/uploads/${body.uploadId ?? ""}`);
    const total = 8 << 20;
    const result = await new Promise<{ status: number; written: number }>((resolve, reject) => {
      let written = 0;
      let done = false;
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: "PATCH", headers: { ...tusHeaders(guest), "content-type": "application/offset+octet-stream", "upload-offset": "0", "content-length": String(total) } }, (res) => {
        done = true;
        res.resume();
        resolve({ status: res.statusCode ?? 0, written });
        req.destroy();
      });
      req.on("error", (err) => (done ? undefined : reject(err)));
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        if (done || written >= total) return;
        written += chunk.length;
        req.write(chunk);
        setTimeout(pump, 5);
      };
      pump();
    });
    assert.equal(result.status, 403);
    assert.ok(result.written < total / 2, `answered after ${result.written} of ${total} bytes were sent`);
  });

  it("two PATCHes of one upload at once: one is written, the other gets 409, the asset is intact", async () => {
    const owner = await account("racer", "creator");
    const clip = makeClip(1, "320x240");
    const { body } = await createUpload(owner.token, clip.length, "raced");
    const uploadId = body.uploadId ?? "";
    const [a, b] = await Promise.all([patch(owner.token, uploadId, 0, clip), patch(owner.token, uploadId, 0, clip)]);
    assert.deepEqual([a.status, b.status].sort(), [204, 409]);
    await waitFor("the raced upload to be encoded", async () => ((await api(node.url, "GET", `/api/streams/${body.streamId ?? ""}`)).body.status === "ready" ? true : undefined), 90_000, 250);
    const late = await patch(owner.token, uploadId, 0, clip);
    assert.equal(late.status, 409, "nothing is written into a completed upload");
  });

  it("a rejected file's error names no host path", async () => {
    const owner = await account("junker", "creator");
    const junk = Buffer.concat([Buffer.from("\x00\x00\x00\x18ftypmp42"), Buffer.alloc(30_000, 7)]);
    const { body } = await createUpload(owner.token, junk.length, "junk");
    const res = await patch(owner.token, body.uploadId ?? "", 0, junk);
    assert.equal(res.status, 400);
    const message = ((await res.json()) as { error: { message: string } }).error.message;
    assert.match(message, /media file/);
    assert.ok(!message.includes(node.dataDir) && !/\/[\w.-]+\/[\w.-]+/.test(message), message);
    const status = await api(node.url, "GET", `/api/uploads/${body.uploadId ?? ""}`, undefined, owner.token);
    assert.ok(!JSON.stringify(status.body).includes(node.dataDir));
  });
});

describe("what the public API shows", () => {
  it("/metrics on the public port needs the scrape token", async () => {
    assert.equal((await fetch(`${node.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${node.url}/metrics`, { headers: { authorization: "Bearer nope" } })).status, 401);
    const ok = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /esh_gateway_ws_connections/);
  });

  it("a room's ban and mute lists are for its owner and admins; a stream's media node for admins", async () => {
    const owner = await account("roomowner", "creator");
    const troll = await account("troll");
    const id = (await api(node.url, "POST", "/api/streams", { title: "Moderated", kind: "live" }, owner.token)).body.id as string;
    const ws = await WsClient.connect(node.wsUrl, { token: owner.token });
    try {
      assert.equal((await ws.request("room.join", { room: id })).t, "ok");
      assert.equal((await ws.request("room.ban", { room: id, userId: troll.userId })).t, "ok");
      assert.equal((await ws.request("media.join", { stream: id, role: "broadcaster" })).t, "ok");
    } finally {
      ws.close();
    }
    const guest = (await api(node.url, "GET", `/api/rooms/${id}`)).body;
    assert.equal(guest.bans, undefined);
    assert.equal(guest.mutes, undefined);
    assert.equal(((await api(node.url, "GET", `/api/rooms/${id}`, undefined, troll.token)).body).bans, undefined);
    assert.deepEqual((await api(node.url, "GET", `/api/rooms/${id}`, undefined, owner.token)).body.bans, [troll.userId]);
    assert.equal((await api(node.url, "GET", `/api/streams/${id}`)).body.mediaNode, undefined);
    assert.equal((await api(node.url, "GET", `/api/streams/${id}`, undefined, owner.token)).body.mediaNode, undefined);
    assert.equal(typeof (await api(node.url, "GET", `/api/streams/${id}`, undefined, admin)).body.mediaNode, "string");
    const listed = (await api(node.url, "GET", "/api/streams?limit=200")).body as unknown as { id: string; mediaNode?: string }[];
    assert.equal(listed.find((s) => s.id === id)?.mediaNode, undefined);
  });
});

describe("behind a proxy", () => {
  it("a client cannot dodge per-address limits by writing X-Forwarded-For: the right-most hop is believed", async () => {
    const proxied = await PlatformNode.start({ env: { ESH_GATEWAY_TRUST_PROXY: "true", ESH_GATEWAY_AUTH_BURST_PER_IP: "5", ESH_GATEWAY_AUTH_RATE_PER_IP: "0.01" } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        // What the client wrote first, then what our proxy appended: the address it saw.
        const r = await fetch(`${proxied.url}/api/auth/guest`, { method: "POST", headers: { "x-forwarded-for": `198.51.100.${i}, 203.0.113.5` } });
        statuses.push(r.status);
      }
      assert.equal(statuses.filter((st) => st === 201 || st === 200).length, 5, `statuses ${statuses.join(",")}`);
      assert.ok(statuses.slice(5).every((st) => st === 429));
      assert.match(proxied.output, /rate\.limited.*203\.0\.113\.5|203\.0\.113\.5.*rate\.limited/);
      assert.doesNotMatch(proxied.output, /rate\.limited.*198\.51\.100\./);
      // A proxy that adds its own header line after the client's (HAProxy): still the same client.
      const raw = await new Promise<string>((resolve, reject) => {
        const sock = net.connect(proxied.port, "127.0.0.1", () => sock.end("POST /api/auth/guest HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX-Forwarded-For: 198.51.100.200\r\nX-Forwarded-For: 203.0.113.5\r\nConnection: close\r\n\r\n"));
        let got = "";
        sock.on("data", (d: Buffer) => (got += d.toString()));
        sock.on("end", () => resolve(got));
        sock.on("error", reject);
      });
      assert.match(raw, /^HTTP\/1\.1 429/);
      // Another real client behind the same proxy is not limited by the first one's flood.
      assert.ok([200, 201].includes((await fetch(`${proxied.url}/api/auth/guest`, { method: "POST", headers: { "x-forwarded-for": "203.0.113.77" } })).status));
    } finally {
      await proxied.stop();
    }
  });
});

describe("shutdown after refused calls", () => {
  it("a viewer's refused admin calls do not make SIGTERM wait for the drain timeout", async () => {
    const viewer = await account("nosy");
    for (const [method, path] of [["GET", "/api/admin/users"], ["GET", "/api/recommendations/model"], ["POST", "/api/recommendations/retrain"], ["GET", "/api/admin/users"]] as const) {
      assert.equal((await api(node.url, method, path, undefined, viewer.token)).status, 403, path);
    }
    const started = Date.now();
    await node.stop();
    const took = Date.now() - started;
    assert.doesNotMatch(node.output, /GracefulStopTimeoutError/);
    assert.ok(took < 5000, `SIGTERM took ${took} ms (the drain timeout is 10 s)`);
    process.stdout.write(`# exit after SIGTERM: ${took} ms\n`);
  });
});
