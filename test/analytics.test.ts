/**
 * Analytics, embedded (real chdb in the node's DATA_DIR, spool bus): QoE from simulated viewers
 * equals the figures computed by hand; bad events are dropped one by one with reasons; hostile
 * analyst queries are refused; a kill -9 loses nothing accepted and re-sent events are stored
 * once; alerts reach admins over WebSocket and a webhook.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { appLogin, CHROMIUM } from "../tools/harness/media-pages.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { waitFor } from "../tools/harness/ports.js";
import { assertQoe, ENGAGEMENT_SQL, expectedQoe, planViewer, QOE_SQL, rng, sendPlans } from "../tools/harness/viewers.js";
import { WsClient } from "../tools/harness/ws-client.js";

const ADMIN = { username: "admin", password: "analytics-admin-pw" };
/** Many simulated viewers from one IP: lift the per-IP login and per-socket message limits. */
const LIMITS = { ESH_GATEWAY_WS_RATE_PER_SEC: "1000", ESH_GATEWAY_WS_BURST: "1000", ESH_GATEWAY_AUTH_RATE_PER_IP: "1000", ESH_GATEWAY_AUTH_BURST_PER_IP: "1000" };

async function login(base: string): Promise<string> {
  const r = await api(base, "POST", "/api/auth/login", ADMIN);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.accessToken as string;
}

async function query(base: string, token: string, sql: string) {
  return api(base, "POST", "/api/analytics/query", { sql }, token);
}

async function count(base: string, token: string, where = "1"): Promise<{ n: number; distinct: number }> {
  const r = await query(base, token, `SELECT count() AS n, uniqExact(event_id) AS d FROM events WHERE ${where}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [n, d] = (r.body.rows as number[][])[0] ?? [];
  return { n: Number(n), distinct: Number(d) };
}

describe("analytics, embedded (chdb)", () => {
  let node: PlatformNode;
  let admin: string;
  const hooks: unknown[] = [];
  let hookServer: http.Server;

  before(async () => {
    hookServer = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        hooks.push(JSON.parse(body));
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
    const hookPort = (hookServer.address() as { port: number }).port;
    node = await PlatformNode.start({
      env: {
        ADMIN_USER: ADMIN.username,
        ADMIN_PASSWORD: ADMIN.password,
        ESH_ANALYTICS_QUERY_MAX_ROWS: "1000",
        ESH_ANALYTICS_QUERY_MAX_SECONDS: "2",
        ESH_ANALYTICS_ALERT_INTERVAL_MS: "500",
        ESH_ANALYTICS_ALERT_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/hook`,
        ...LIMITS,
      },
    });
    admin = await login(node.url);
  });

  after(async () => {
    await node.stop();
    hookServer.close();
  });

  it("QoE and engagement of simulated viewers equal the figures computed by hand", async () => {
    const rand = rng(42);
    const plans = Array.from({ length: 12 }, (_, i) => planViewer("qoe1", i, rand));
    const want = expectedQoe(plans);
    await sendPlans(node.url, node.wsUrl, plans);
    const sent = plans.reduce((s, p) => s + p.events.length, 0);
    await waitFor("events stored", async () => ((await count(node.url, admin, "stream_id = 'qoe1'")).n === sent ? true : undefined), 20_000);
    const qoe = await query(node.url, admin, QOE_SQL("qoe1"));
    const eng = await query(node.url, admin, ENGAGEMENT_SQL("qoe1"));
    assert.equal(qoe.status, 200, JSON.stringify(qoe.body));
    assertQoe((qoe.body.rows as unknown[][])[0] ?? [], (eng.body.rows as unknown[][])[0] ?? [], want);
    // The dashboard serves the same per-minute views.
    const dash = await api(node.url, "GET", "/api/analytics/dashboard?minutes=10&stream=qoe1", undefined, admin);
    assert.equal(dash.status, 200);
    const rows = dash.body.qoe as { views: number; startup_ms: number[] }[];
    assert.ok(rows.length >= 1 && rows.length <= 2, "one row per minute");
    if (rows.length === 1) assert.deepEqual(rows[0]?.startup_ms, [want.startupP50, want.startupP95]);
    assert.ok((dash.body.streams as string[]).includes("qoe1"));
  });

  it("drops bad events one by one with reasons; refuses bad batches and tokens", async () => {
    const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    const ws = await WsClient.connect(node.wsUrl, { token: guest });
    const now = Date.now();
    const r = await ws.request("events", {
      events: [
        { id: "ok-1", type: "play", ts: now, stream: "bad1" },
        { id: "x".repeat(65), type: "play", ts: now },
        { id: "ok-2", type: "DROP TABLE", ts: now },
        { id: "ok-3", type: "seek", ts: -5 },
        { id: "ok-4", type: "seek", ts: now, position: "far" },
        { id: "ok-5", type: "seek", ts: now, stream: "'; DROP TABLE events; --" },
        { id: "ok-6", type: "chat", ts: now, data: { big: "y".repeat(3000) } },
        "not an object",
      ],
    });
    assert.equal(r.t, "ok");
    const d = r.d as { accepted: number; dropped: { i: number; reason: string }[] };
    assert.equal(d.accepted, 1);
    assert.deepEqual(d.dropped.map((x) => x.i), [1, 2, 3, 4, 5, 6, 7]);
    assert.match(d.dropped[1]?.reason ?? "", /type/);
    const tooMany = await ws.request("events", { events: Array.from({ length: 501 }, (_, i) => ({ id: `m${i}`, type: "play", ts: now })) });
    assert.equal(tooMany.t, "error");
    const notArray = await ws.request("events", { events: "nope" });
    assert.equal((notArray.d as { code: string }).code, "BAD_REQUEST");
    ws.close();
    const noToken = await api(node.url, "POST", "/api/events", { events: [] });
    assert.equal(noToken.status, 401);
    const badToken = await api(node.url, "POST", "/api/events", { token: "x.y.z.not-a-token", events: [] });
    assert.equal(badToken.status, 401);
    // sendBeacon's form: the token in the body.
    const beacon = await api(node.url, "POST", "/api/events", { token: guest, events: [{ id: "beacon-1", type: "view.end", ts: now, stream: "bad1", watched: 10 }] });
    assert.equal(beacon.status, 200, JSON.stringify(beacon.body));
    await waitFor("beacon stored", async () => ((await count(node.url, admin, "stream_id = 'bad1'")).n === 2 ? true : undefined));
    const health = await api(node.url, "GET", "/readyz");
    assert.equal(health.status, 200);
  });

  it("refuses hostile analyst queries and keeps limits", async () => {
    const refused = [
      "DROP TABLE events",
      "INSERT INTO events (event_id) VALUES ('x')",
      "ALTER TABLE events DELETE WHERE 1",
      "SELECT * FROM system.tables",
      "SELECT * FROM events; DROP TABLE events",
      "SELECT 1; SELECT 2",
      "SELECT * FROM file('/etc/passwd', 'LineAsString')",
      "SELECT * FROM url('http://127.0.0.1:1/', 'CSV', 'a String')",
      "SELECT * FROM events SETTINGS readonly = 0",
      "SELECT * FROM INFORMATION_SCHEMA.TABLES",
      "SELECT * FROM default.events",
      "SET readonly = 0",
      "SELECT * FROM users",
      "SELECT * FROM events, secret",
      "WITH x AS (SELECT 1) SELECT * FROM x INTO OUTFILE '/tmp/x'",
    ];
    for (const sql of refused) {
      const r = await query(node.url, admin, sql);
      assert.equal(r.status, 400, `${sql} -> ${r.status} ${JSON.stringify(r.body)}`);
      assert.match((r.body.error as { message: string }).message, /Query refused|Query failed/, sql);
    }
    // Strings and comments cannot smuggle statements, and do not trip the guard either.
    const quoted = await query(node.url, admin, "SELECT 'DROP TABLE events; --' AS s /* ; DELETE */");
    assert.equal(quoted.status, 200, JSON.stringify(quoted.body));
    const huge = await query(node.url, admin, "SELECT arrayJoin(range(100000)) AS x");
    assert.equal(huge.status, 200);
    assert.equal((huge.body.rows as unknown[]).length, 1000);
    assert.equal(huge.body.truncated, true);
    const slow = await query(node.url, admin, "SELECT count() FROM (SELECT arrayJoin(range(40000)) AS a) AS x CROSS JOIN (SELECT arrayJoin(range(40001)) AS b) AS y WHERE sipHash64(a, b) % 7 = 1");
    assert.equal(slow.status, 400, `a query over the time limit is stopped: ${JSON.stringify(slow.body)}`);
    const viewer = await api(node.url, "POST", "/api/auth/register", { username: "analyst-viewer", password: "viewer-password-1" });
    const vq = await query(node.url, viewer.body.accessToken as string, "SELECT 1");
    assert.equal(vq.status, 403);
    const health = await api(node.url, "GET", "/readyz");
    assert.equal(health.status, 200);
  });

  it("alerts: a rebuffering stream fires to admins over WebSocket and to the webhook", async () => {
    const ws = await WsClient.connect(node.wsUrl, { token: admin });
    const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    const viewer = await WsClient.connect(node.wsUrl, { token: guest });
    const now = Date.now();
    const r = await viewer.request("events", {
      events: [
        { id: "al-1", type: "view.start", ts: now, stream: "stalling", view: "al-v" },
        { id: "al-2", type: "buffer.end", ts: now, stream: "stalling", view: "al-v", duration: 3000 },
        { id: "al-3", type: "heartbeat", ts: now, stream: "stalling", view: "al-v", watched: 10000, bitrate: 800 },
      ],
    });
    assert.equal(r.t, "ok");
    const alert = await ws.next((f) => f.t === "alert" && (f.d as { stream: string }).stream === "stalling", 20_000);
    const a = alert.d as { rule: string; state: string; value: number };
    assert.equal(a.rule, "rebuffering");
    assert.equal(a.state, "firing");
    assert.ok(Math.abs(a.value - 30) < 1e-9, `rebuffer 3000/10000 = 30%, got ${a.value}`);
    await waitFor("webhook", () => (hooks.some((h) => (h as { stream: string }).stream === "stalling") ? true : undefined));
    assert.match(node.output, /alert firing: rebuffering/);
    ws.close();
    viewer.close();
  });

  it("the admin dashboard draws its charts, refreshes, and shows an alert as it fires", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${node.url}/app/`);
      await appLogin(page, ADMIN.username, ADMIN.password);
      await page.click("nav.main-nav a[href='/app/admin']");
      await page.waitForSelector(".status-grid .stored");
      assert.ok((await page.locator(".chart canvas").count()) >= 6, "six uPlot charts drawn");
      assert.match((await page.textContent(".status-grid")) ?? "", /chdb \(current\) up/);
      const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
      const viewer = await WsClient.connect(node.wsUrl, { token: guest });
      const now = Date.now();
      await viewer.request("events", {
        events: [
          { id: "dash-1", type: "view.start", ts: now, stream: "dash-stall", view: "dv" },
          { id: "dash-2", type: "buffer.end", ts: now, stream: "dash-stall", view: "dv", duration: 4000 },
          { id: "dash-3", type: "heartbeat", ts: now, stream: "dash-stall", view: "dv", watched: 8000 },
        ],
      });
      viewer.close();
      // The alert arrives on the socket as it fires; the stream appears in the filter on the next refresh.
      await page.locator(".alerts li.firing", { hasText: "dash-stall" }).first().waitFor({ timeout: 20_000 });
      await page.locator("select[aria-label=Stream] option[value='dash-stall']").waitFor({ state: "attached", timeout: 15_000 });
    } finally {
      await browser.close();
    }
  });

  it("recommendations: tokens required, limits checked, guests get popular rows, admins see the model", async () => {
    assert.equal((await api(node.url, "GET", "/api/recommendations")).status, 401);
    const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    for (const bad of ["-1", "0", "1000", "abc", "2.5"]) {
      const r = await api(node.url, "GET", `/api/recommendations?limit=${bad}`, undefined, guest);
      assert.equal(r.status, 400, `limit=${bad}: ${JSON.stringify(r.body)}`);
    }
    const ok = await api(node.url, "GET", "/api/recommendations?limit=5", undefined, guest);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.personal, false);
    assert.ok(Array.isArray(ok.body.rows));
    assert.equal((await api(node.url, "GET", "/api/recommendations/model", undefined, guest)).status, 403);
    const me = (await api(node.url, "GET", "/api/auth/me", undefined, guest)).body as { principal: { userId: string } };
    assert.equal((await api(node.url, "GET", `/api/recommendations?user=${me.principal.userId}`, undefined, guest)).status, 200, "one's own list");
    const someone = await api(node.url, "GET", "/api/recommendations?user=someone-else", undefined, guest);
    assert.equal(someone.status, 403, JSON.stringify(someone.body));
    const unknown = await api(node.url, "GET", "/api/recommendations?user=no-such-user", undefined, admin);
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.match((unknown.body.error as { message: string }).message, /No such user/);
    assert.equal((await api(node.url, "GET", "/api/recommendations?user=bad%20id!", undefined, admin)).status, 400);
    const model = await api(node.url, "GET", "/api/recommendations/model", undefined, admin);
    assert.equal(model.status, 200);
    assert.equal(typeof model.body.version, "number");
  });

  it("kill -9 loses nothing accepted; the client's re-sent batches are stored once", async () => {
    const guest = (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string;
    const ws = await WsClient.connect(node.wsUrl, { token: guest });
    const batches = Array.from({ length: 300 }, (_, b) => Array.from({ length: 100 }, (_, i) => ({ id: `crash-${b}-${i}`, type: "heartbeat", ts: Date.now(), stream: "crash", view: `cv${b}`, watched: 1000 })));
    const acked = new Set<number>();
    let b = 0;
    const sending = (async () => {
      for (; b < batches.length; b++) {
        const r = await ws.request("events", { events: batches[b] }, 5000).catch(() => undefined);
        if (r?.t !== "ok") break;
        acked.add(b);
      }
    })();
    await waitFor("some batches accepted", () => (acked.size >= 50 ? true : undefined));
    node.proc.kill("SIGKILL");
    await sending;
    await node.exited();
    assert.ok(acked.size < batches.length, "the kill happened mid-stream");
    node = await PlatformNode.start({ dataDir: node.dataDir, env: { ADMIN_USER: ADMIN.username, ADMIN_PASSWORD: ADMIN.password, ...LIMITS } });
    admin = await login(node.url);
    const ackedEvents = acked.size * 100;
    await waitFor("every accepted event stored", async () => ((await count(node.url, admin, "stream_id = 'crash'")).n >= ackedEvents ? true : undefined), 30_000);
    // Like the SDK: everything not acknowledged is sent again (some of it may have landed).
    const ws2 = await WsClient.connect(node.wsUrl, { token: (await api(node.url, "POST", "/api/auth/guest")).body.accessToken as string });
    for (let i = 0; i < batches.length; i++) {
      if (acked.has(i)) continue;
      const r = await ws2.request("events", { events: batches[i], retry: true });
      assert.equal(r.t, "ok", JSON.stringify(r.d));
    }
    const total = batches.length * 100;
    const c = await waitFor("all stored", async () => {
      const got = await count(node.url, admin, "stream_id = 'crash'");
      return got.n >= total ? got : undefined;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1000)); // anything extra would have landed by now
    const final = await count(node.url, admin, "stream_id = 'crash'");
    assert.deepEqual(final, { n: total, distinct: total }, `stored ${c.n}, distinct ${c.distinct}: no loss, no duplicates`);
    ws2.close();
  });
});
