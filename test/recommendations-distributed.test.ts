/**
 * One trainer, many scorers, over real NATS: the trainer node trains on the events its
 * analytics actor stored, puts the version in the NATS object store and announces it; a
 * scorer-only node (ESH_RECS_TRAINER=false) fetches it and serves it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { WsClient } from "../tools/harness/ws-client.js";

const ADMIN = { username: "admin", password: "recs-admin-password" };
const LIMITS = { ESH_GATEWAY_AUTH_RATE_PER_IP: "1000", ESH_GATEWAY_AUTH_BURST_PER_IP: "1000", ESH_GATEWAY_HTTP_RATE_PER_IP: "10000", ESH_GATEWAY_HTTP_BURST_PER_IP: "10000" };

describe("recommendations, distributed: one trainer, one scorer", () => {
  let nats: NatsServer;
  let trainer: PlatformNode;
  let scorer: PlatformNode;

  before(async () => {
    nats = await NatsServer.start();
    trainer = await PlatformNode.start({
      services: "gateway,sessions,streams,rooms,analytics,recommenders",
      natsUrl: nats.url,
      env: { ADMIN_USER: ADMIN.username, ADMIN_PASSWORD: ADMIN.password, ESH_RECS_FIRST_TRAIN_MS: "3600000", ESH_RECS_MAX_STEPS: "100", ESH_RECS_DIM: "8", ...LIMITS },
    });
    // The scorer has its own gateway: a gateway calls its local recommenders first.
    scorer = await PlatformNode.start({ services: "gateway,recommenders", natsUrl: nats.url, env: { ESH_RECS_TRAINER: "false", ...LIMITS } });
  });

  after(async () => {
    await scorer.stop();
    await trainer.stop();
    await nats.stop();
  });

  it("the scorer serves the version the trainer published", async () => {
    const admin = (await api(trainer.url, "POST", "/api/auth/login", ADMIN)).body.accessToken as string;
    await api(trainer.url, "POST", "/api/auth/register", { username: "maker", password: "maker password 1", role: "creator" });
    const creator = (await api(trainer.url, "POST", "/api/auth/login", { username: "maker", password: "maker password 1" })).body.accessToken as string;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await api(trainer.url, "POST", "/api/streams", { title: `Show ${i}`, kind: "vod", category: i < 3 ? "music" : "gaming" }, creator)).body.id as string);
    for (let u = 0; u < 12; u++) {
      const guest = (await api(trainer.url, "POST", "/api/auth/guest")).body.accessToken as string;
      const ws = await WsClient.connect(trainer.wsUrl, { token: guest });
      const mine = u % 2 === 0 ? ids.slice(0, 3) : ids.slice(3);
      const r = await ws.request("events", { events: mine.map((s, k) => ({ id: `u${u}-${k}`, type: "view.end", ts: Date.now(), stream: s, view: `u${u}-v${k}`, watched: 300_000 })) });
      assert.equal(r.t, "ok", JSON.stringify(r.d));
      ws.close();
    }
    await waitFor("events stored", async () => {
      const q = await api(trainer.url, "POST", "/api/analytics/query", { sql: "SELECT count() FROM events WHERE type = 'view.end'" }, admin);
      return Number((q.body.rows as number[][] | undefined)?.[0]?.[0]) >= 36 ? true : undefined;
    }, 20_000);
    // The scorer refuses to train; the trainer trains, publishes, announces.
    const refused = await api(scorer.url, "POST", "/api/recommendations/retrain", {}, admin);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    const r = await api(trainer.url, "POST", "/api/recommendations/retrain", {}, admin);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const version = (r.body as { version: number }).version;
    assert.ok(version >= 1);
    const served = await waitFor("the scorer serving the new version", async () => {
      const m = await api(scorer.url, "GET", "/api/recommendations/model", undefined, admin);
      return m.status === 200 && m.body.version === version ? m.body : undefined;
    }, 30_000, 100);
    assert.equal(served.trainer, false);
    assert.notEqual(served.node, (await api(trainer.url, "GET", "/api/recommendations/model", undefined, admin)).body.node);
    assert.match(scorer.output, new RegExp(`serving model v${version}`));
  });
});
