/**
 * Observability across a real distributed cluster (NATS, three nodes): one request is one
 * trace, exported over OpenTelemetry (OTLP/HTTP JSON, received here by a small collector
 * endpoint) with spans from the nodes it crossed, and its id is the X-Request-Id the client
 * saw and the trace_id on the log lines it caused; logs are JSON in three categories with no
 * secrets; nodes without a gateway serve /metrics (passing promtool), /healthz and /readyz.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { NatsServer } from "../tools/harness/nats.js";
import { api, PlatformNode } from "../tools/harness/node.js";
import { freePort, waitFor } from "../tools/harness/ports.js";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}
interface Received {
  instance: string;
  span: OtlpSpan;
}

/** The receiving end of OTLP/HTTP JSON, as an OpenTelemetry Collector exposes it (POST /v1/traces). */
class Collector {
  readonly spans: Received[] = [];
  readonly #server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (req.url !== "/v1/traces" || req.method !== "POST") return void res.writeHead(404).end();
      const doc = JSON.parse(body) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of doc.resourceSpans) {
        const instance = rs.resource.attributes.find((a) => a.key === "service.instance.id")?.value.stringValue ?? "";
        for (const ss of rs.scopeSpans) for (const span of ss.spans) this.spans.push({ instance, span });
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.#server.close(() => r()));
  }
}

const collector = new Collector();
let nats: NatsServer;
let front: PlatformNode;
let catalog: PlatformNode;
let roomsNode: PlatformNode;
let opsPort = 0;

const jsonLines = (out: string): Record<string, unknown>[] =>
  out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  nats = await NatsServer.start();
  const otlp = await collector.listen();
  opsPort = await freePort();
  const common = { LOG_FORMAT: "json", ESH_BROKER_TRACING_EXPORTER: "otlp", ESH_BROKER_OTLP_URL: otlp, ESH_BROKER_TRACING_SAMPLE_RATE: "1", ESH_BROKER_HEARTBEAT_INTERVAL_SEC: "1", ESH_BROKER_HEARTBEAT_TIMEOUT_SEC: "3" };
  catalog = await PlatformNode.start({ services: "sessions,streams", natsUrl: nats.url, env: { ...common, NODE_ID: "catalog" } });
  roomsNode = await PlatformNode.start({ services: "rooms", natsUrl: nats.url, env: { ...common, NODE_ID: "rooms-1", OPS_PORT: String(opsPort) } });
  front = await PlatformNode.start({ services: "gateway", natsUrl: nats.url, env: { ...common, NODE_ID: "front" } });
});

after(async () => {
  for (const n of [front, catalog, roomsNode]) await n.stop().catch(() => undefined);
  await nats.dispose();
  await collector.close();
});

describe("observability", () => {
  it("one request is one OpenTelemetry trace across nodes, and its id is the X-Request-Id and the trace_id in the logs", async () => {
    const reg = await api(front.url, "POST", "/api/auth/register", { username: "tracer", password: "a very secret pw", role: "creator" });
    assert.equal(reg.status, 201);
    const token = reg.body.accessToken as string;
    const created = await api(front.url, "POST", "/api/streams", { title: "Traced", kind: "live" }, token);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const requestId = created.headers.get("x-request-id") ?? "";
    assert.match(requestId, /^[0-9a-f]{32}$/);

    // streams.create on "catalog" calls rooms.create on "rooms-1": two nodes, one trace.
    const spans = await waitFor("the trace's spans at the collector", () => {
      const s = collector.spans.filter((x) => x.span.traceId === requestId);
      return s.some((x) => x.span.name.includes("streams.create")) && s.some((x) => x.span.name.includes("rooms.create")) ? s : undefined;
    }, 15_000, 200);
    assert.deepEqual([...new Set(spans.map((s) => s.instance))].sort(), ["catalog", "rooms-1"]);
    const parent = spans.find((s) => s.span.name.includes("streams.create"));
    const child = spans.find((s) => s.span.name.includes("rooms.create"));
    assert.equal(child?.span.parentSpanId, parent?.span.spanId, "rooms.create is a child of streams.create");

    // A failed login: the security line on the sessions node carries the request's trace id.
    const bad = await api(front.url, "POST", "/api/auth/login", { username: "tracer", password: "wrong password" });
    assert.equal(bad.status, 401);
    const badId = bad.headers.get("x-request-id") ?? "";
    assert.equal((bad.body.error as { requestId: string }).requestId, badId);
    const line = await waitFor("login.failed in the security log", () => jsonLines(catalog.output).find((l) => l.event === "login.failed"));
    assert.equal(line.category, "security");
    assert.equal(line.trace_id, badId);
    assert.equal(line.username, "tracer");
    assert.equal(line.ip, "127.0.0.1");
  });

  it("logs are JSON lines in the three categories, and no password or token reaches them", async () => {
    const reg = await api(front.url, "POST", "/api/auth/register", { username: "viewer1", password: "hunter2 hunter2" });
    const token = reg.body.accessToken as string;
    // Failed auth, a permission denial and a rate-limit hit, all at the edge.
    assert.equal((await api(front.url, "GET", "/api/auth/me", undefined, `${token}x`)).status, 401);
    assert.equal((await api(front.url, "GET", "/api/admin/users", undefined, token)).status, 403);
    const tries = await Promise.all(Array.from({ length: 150 }, () => api(front.url, "GET", "/api/streams")));
    assert.ok(tries.some((t) => t.status === 429), "the per-IP limit was hit");
    await new Promise((r) => setTimeout(r, 300));

    const all = [front, catalog, roomsNode].flatMap((n) => jsonLines(n.output));
    assert.ok(all.length > 50);
    for (const l of all) assert.ok(["application", "streaming", "security"].includes(String(l.category)), JSON.stringify(l));
    const sec = jsonLines(front.output).filter((l) => l.category === "security");
    for (const e of ["auth.failed", "permission.denied", "rate.limited"]) assert.ok(sec.some((l) => l.event === e), `${e} in ${JSON.stringify(sec)}`);
    const limited = sec.filter((l) => l.event === "rate.limited");
    assert.ok(limited.length < 5, `a flood is folded, not one line per request (${limited.length})`);
    assert.ok(jsonLines(catalog.output).some((l) => l.category === "streaming"), "the streams actor logs as streaming");

    const text = [front, catalog, roomsNode].map((n) => n.output).join("\n");
    for (const secret of ["a very secret pw", "hunter2 hunter2", token, token.split(".")[2] ?? token]) assert.ok(!text.includes(secret), `a secret reached the logs: ${secret.slice(0, 12)}…`);
  });

  it("a node without a gateway serves /metrics (promtool-clean), /healthz and /readyz", async () => {
    const base = `http://127.0.0.1:${opsPort}`;
    assert.match(roomsNode.output, new RegExp(`ops endpoint on http://127\\.0\\.0\\.1:${opsPort}`));
    const health = await api(base, "GET", "/healthz");
    assert.deepEqual(health.body, { ok: true, nodeId: "rooms-1" });
    const ready = await api(base, "GET", "/readyz");
    assert.equal(ready.status, 200);
    assert.equal(ready.body.connected, true);
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /moleculer_request_total\{[^}]*action="rooms\.create"[^}]*node_id="rooms-1"/);
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.equal((await api(base, "GET", "/nope")).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: "POST" })).status, 405);
  });

  it("readiness follows the node's NATS connection, and SIGTERM exits cleanly", async () => {
    const base = `http://127.0.0.1:${opsPort}`;
    await nats.stop();
    const down = await waitFor("readyz 503 with NATS down", async () => {
      const r = await api(base, "GET", "/readyz");
      return r.status === 503 ? r.body : undefined;
    }, 15_000, 100);
    assert.equal(down.connected, false);
    assert.equal((await api(base, "GET", "/healthz")).status, 200, "alive, just not ready");
    await nats.restart();
    await waitFor("readyz 200 once NATS is back", async () => (await api(base, "GET", "/readyz")).status === 200 || undefined, 20_000, 100);
    roomsNode.proc.kill("SIGTERM");
    assert.equal(await roomsNode.exited(), 0);
  });
});
